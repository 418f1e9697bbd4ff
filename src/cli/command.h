// What a subcommand returns to main, the one place that turns it into an exit code:
// 0 success, 1 runtime/input error (one line on stderr), 2 usage error.
#pragma once

#include <string>

namespace irsa::cli {

struct CommandStatus {
  enum class Kind { kOk, kRuntimeError, kUsageError };
  Kind kind = Kind::kOk;
  std::string message;
  // Threads of the command are still running (serve after its shutdown grace period): main
  // flushes and ends the process with _Exit, because static destructors would run under them.
  bool threads_left_running = false;

  static CommandStatus Ok() { return {}; }
  static CommandStatus Runtime(std::string m) { return {Kind::kRuntimeError, std::move(m)}; }
  static CommandStatus Usage(std::string m) { return {Kind::kUsageError, std::move(m)}; }
};

}  // namespace irsa::cli
