// What a subcommand returns to main, the one place that turns it into an exit code:
// 0 success, 1 runtime/input error (one line on stderr), 2 usage error.
#pragma once

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "flags.h"
#include "irsa/config.h"
#include "irsa/status.h"

namespace irsa::cli {

struct CommandStatus {
  enum class Kind { kOk, kRuntimeError, kUsageError };
  Kind kind = Kind::kOk;
  std::string message;
  static CommandStatus Ok() { return {}; }
  static CommandStatus Runtime(std::string m) { return {Kind::kRuntimeError, std::move(m)}; }
  static CommandStatus Usage(std::string m) { return {Kind::kUsageError, std::move(m)}; }
};

// Parses a subcommand's `args` the way every subcommand does: a usage error carries the help
// text, --help prints the help to `out`, positional arguments are refused. Returns the status to
// end the command with, or nullopt when the command should run.
std::optional<CommandStatus> ParseCommandLine(Flags& flags, const std::vector<std::string>& args,
                                              std::ostream& out = std::cout);

// The config named by --config, or the built-in defaults (no bindings) without the flag.
Result<Config> LoadConfigFlag(const Flags& flags);

}  // namespace irsa::cli
