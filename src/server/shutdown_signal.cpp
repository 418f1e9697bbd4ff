#include "shutdown_signal.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace irsa::server {
namespace {

// The pipe's write end for the handler; -1 when no ShutdownSignal is installed.
std::atomic<int> signal_write_fd{-1};

extern "C" void OnShutdownSignal(int signo) {
  const int saved_errno = errno;
  const int fd = signal_write_fd.load();
  if (fd >= 0) {
    const auto byte = static_cast<unsigned char>(signo);
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}

}  // namespace

Status ShutdownSignal::Install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status::Error(std::string("pipe2: ") + std::strerror(errno));
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  signal_write_fd.store(write_fd_);

  struct sigaction action {};
  action.sa_handler = &OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(SIGTERM, &action, nullptr) != 0 || ::sigaction(SIGINT, &action, nullptr) != 0) {
    return Status::Error(std::string("sigaction: ") + std::strerror(errno));
  }
  installed_ = true;
  return Status::Ok();
}

std::optional<int> ShutdownSignal::Wait(std::chrono::milliseconds timeout) {
  if (read_fd_ < 0) return std::nullopt;
  pollfd pfd{read_fd_, POLLIN, 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return std::nullopt;
  unsigned char byte = 0;
  if (::read(read_fd_, &byte, 1) != 1) return std::nullopt;
  return static_cast<int>(byte);
}

ShutdownSignal::~ShutdownSignal() {
  if (installed_) {
    // Back to the default action: a second signal after shutdown ends the process at once.
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
  }
  signal_write_fd.store(-1);
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

}  // namespace irsa::server
