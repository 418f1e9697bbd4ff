#include "server/keep_alive_wait.h"

#include <dlfcn.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <ctime>

namespace httplib::detail {

// Exported from the executable (src/server/CMakeLists.txt) so that the library binds to it.
__attribute__((visibility("default"))) bool keep_alive(int sock,
                                                       std::time_t keep_alive_timeout_sec) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd pfd{sock, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace httplib::detail

namespace irsa::server {

bool KeepAliveWaitInterposed() {
  using KeepAlive = bool (*)(int, std::time_t);
  void* const resolved = ::dlsym(RTLD_DEFAULT, "_ZN7httplib6detail10keep_aliveEil");
  return resolved == reinterpret_cast<void*>(static_cast<KeepAlive>(&httplib::detail::keep_alive));
}

}  // namespace irsa::server
