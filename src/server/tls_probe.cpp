#include "tls_probe.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace irsa::server {
namespace {

using Clock = std::chrono::steady_clock;

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Milliseconds left until `deadline`, at least 0.
int Remaining(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
}

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd pfd{fd, events, 0};
  for (;;) {
    const int ready = ::poll(&pfd, 1, Remaining(deadline));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

}  // namespace

std::string ProbeAddress(const std::string& bind_address) {
  if (bind_address.empty() || bind_address == "0.0.0.0") return "127.0.0.1";
  if (bind_address == "::" || bind_address == "[::]") return "::1";
  return bind_address;
}

Status ProbeTlsHandshake(const std::string& address, int port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string where = address + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0 || found == nullptr) {
    return Status::Error("TLS probe of " + where + ": " + ::gai_strerror(rc));
  }
  Socket socket(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (socket.fd() < 0) {
    ::freeaddrinfo(found);
    return Status::Error("TLS probe of " + where + ": socket: " + std::strerror(errno));
  }
  const int connected = ::connect(socket.fd(), found->ai_addr, found->ai_addrlen);
  const int connect_errno = errno;
  ::freeaddrinfo(found);
  if (connected != 0 && connect_errno != EINPROGRESS) {
    return Status::Error("TLS probe of " + where + ": connect: " + std::strerror(connect_errno));
  }
  if (connected != 0) {
    if (!WaitFor(socket.fd(), POLLOUT, deadline))
      return Status::Error("TLS probe of " + where + ": connect timed out");
    int error = 0;
    socklen_t len = sizeof(error);
    ::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0)
      return Status::Error("TLS probe of " + where + ": connect: " + std::strerror(error));
  }

  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Status::Error("TLS probe of " + where + ": SSL_CTX_new failed");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), socket.fd()) != 1)
    return Status::Error("TLS probe of " + where + ": SSL_new failed");

  for (;;) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    const int error = SSL_get_error(ssl.get(), rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!WaitFor(socket.fd(), error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        return Status::Error("TLS probe of " + where + ": no handshake within " +
                             std::to_string(timeout.count()) + " ms");
      }
      continue;
    }
    // The server sent its certificate, then ended the handshake (no client certificate).
    if (SSL_get0_peer_certificate(ssl.get()) != nullptr) break;
    char reason[256] = "connection closed";
    if (const unsigned long code = ERR_peek_error(); code != 0)
      ERR_error_string_n(code, reason, sizeof(reason));
    ERR_clear_error();
    return Status::Error("TLS probe of " + where + ": handshake failed: " + reason);
  }
  ERR_clear_error();
  return Status::Ok();
}

}  // namespace irsa::server
