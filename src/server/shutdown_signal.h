// SIGTERM/SIGINT as an event the main thread can wait for (the self-pipe trick).
//
// Owns: the SIGTERM and SIGINT handlers and a pipe. The handler only write()s the signal number
// to the pipe (async-signal-safe); Wait() reads it on the main thread, where the shutdown work
// happens. SIGPIPE is main's (src/cli/process_setup.h), not this module's.
// Never: does any work inside a signal handler. At most one instance exists at a time.
// Thread-safety: Wait() from one thread; the handler may run on any thread.
#pragma once

#include <chrono>
#include <optional>

#include "irsa/status.h"

namespace irsa::server {

class ShutdownSignal {
 public:
  ShutdownSignal() = default;
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Installs the handlers. Errors name the failing system call.
  Status Install();
  // The signal number if SIGTERM/SIGINT arrived within `timeout`, else nullopt.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  bool installed_ = false;
};

}  // namespace irsa::server
