#include "metrics_listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

namespace irsa::server {
namespace {

using Clock = std::chrono::steady_clock;

// Pending connections the kernel queues for accept().
constexpr int kListenBacklog = 1024;
// New connections taken per loop turn, so that reading and writing are not starved by a flood.
constexpr int kAcceptsPerTurn = 64;
// After EMFILE/ENFILE, accept() is retried after this pause instead of spinning.
constexpr std::chrono::milliseconds kAcceptPause{100};
// After the answer: what the client still sends is read and dropped for this long (at most
// kMaxLingerBytes), so that closing with unread data (a reset) does not destroy the answer.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kMaxLingerBytes = 64 * 1024;
// On Stop(), requests still arriving get at most this long to complete.
constexpr std::chrono::milliseconds kStopReadGrace{1000};
// The loop wakes at least this often (deadlines are computed exactly; this is a backstop).
constexpr std::chrono::milliseconds kMaxPollWait{1000};

std::int64_t ToNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (methods).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

struct ParsedHead {
  bool ok = false;
  std::string_view method;
  std::string_view path;
  bool has_body = false;
};

// `head` is everything up to and including the blank line.
ParsedHead ParseHead(std::string_view head) {
  ParsedHead parsed;
  std::size_t eol = head.find('\n');
  std::string_view line = Trim(head.substr(0, eol));
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return parsed;
  parsed.method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(parsed.method) || target.empty() || version.substr(0, 7) != "HTTP/1.") return parsed;
  // Absolute form (http://host/path): keep the path.
  if (const auto scheme = target.find("://");
      scheme != std::string_view::npos && target.front() != '/') {
    const auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  parsed.path = target.substr(0, target.find_first_of("?#"));
  // Headers: only whether a body is announced matters.
  while (eol != std::string_view::npos && eol + 1 < head.size()) {
    const std::size_t start = eol + 1;
    eol = head.find('\n', start);
    const std::string_view header =
        head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = Trim(header.substr(0, colon));
    const std::string_view value = Trim(header.substr(colon + 1));
    if (EqualsIgnoreCase(name, "transfer-encoding") ||
        (EqualsIgnoreCase(name, "content-length") && value != "0")) {
      parsed.has_body = true;
    }
  }
  parsed.ok = true;
  return parsed;
}

// Where the head ends (one past the blank line), or npos. Accepts bare LF line ends too.
std::size_t HeadEnd(std::string_view buffer) {
  for (std::size_t i = buffer.find('\n'); i != std::string_view::npos;
       i = buffer.find('\n', i + 1)) {
    if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return i + 2;
    if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

std::string Serialize(const PlainResponse& response, bool head_only) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (!response.allow.empty()) out += "Allow: " + response.allow + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += response.body;
  return out;
}

}  // namespace

struct MetricsListener::Connection {
  enum class Phase { kReading, kWriting, kLingering };
  int fd = -1;
  Phase phase = Phase::kReading;
  Clock::time_point accepted;
  Clock::time_point deadline;
  std::string buffer;  // the request head while reading; the answer while writing
  std::size_t written = 0;
  std::size_t drained = 0;
};

MetricsListener::MetricsListener(MetricsListenerOptions options) : options_(std::move(options)) {}

MetricsListener::~MetricsListener() {
  Stop(Clock::now());
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status MetricsListener::Bind(const std::string& address, int port) {
  const std::string where = "cannot listen on " + address + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(address.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Status::Error(where + ": " + ::gai_strerror(rc));
  }
  int error = 0;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    // SO_REUSEADDR for quick restarts; not SO_REUSEPORT, which would let a second server share the
    // port.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, kListenBacklog) == 0) {
      listen_fd_ = fd;
      break;
    }
    error = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0)
    return Status::Error(where + (error != 0 ? std::string(": ") + std::strerror(error) : ""));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::Error(where + ": eventfd: " + std::strerror(errno));
  return Status::Ok();
}

void MetricsListener::Start() {
  running_.store(true);
  thread_ = std::thread([this] {
    Loop();
    running_.store(false);
  });
}

void MetricsListener::Stop(Clock::time_point deadline) {
  if (!thread_.joinable()) return;
  stop_deadline_ns_.store(ToNs(deadline));
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();  // the loop ends by `deadline` on its own
}

void MetricsListener::Loop() {
  std::vector<Connection> connections;
  std::vector<pollfd> fds;
  Clock::time_point accept_paused_until{};
  bool accepting = true;

  const auto close_connection = [&](std::size_t i) {
    ::close(connections[i].fd);
    if (i + 1 != connections.size()) connections[i] = std::move(connections.back());
    connections.pop_back();
  };
  const auto answer = [&](Connection& c, const PlainResponse& response, bool head_only) {
    c.buffer = Serialize(response, head_only);
    c.written = 0;
    c.phase = Connection::Phase::kWriting;
    c.deadline = Clock::now() + options_.write_deadline;
    if (options_.on_response) options_.on_response(response.status);
  };
  const auto error_answer = [](int status, std::string body) {
    PlainResponse response;
    response.status = status;
    response.body = std::move(body);
    return response;
  };

  for (;;) {
    const auto now = Clock::now();
    const bool stopping = stopping_.load();
    const Clock::time_point stop_deadline{std::chrono::nanoseconds(stop_deadline_ns_.load())};
    if (stopping && accepting) {
      accepting = false;
      ::close(listen_fd_);
      listen_fd_ = -1;
      // A probe or scrape already on its way arrives in well under this; a client that is
      // still trickling its request does not get to hold up the shutdown.
      for (auto& c : connections) {
        if (c.phase == Connection::Phase::kReading)
          c.deadline = std::min(c.deadline, now + kStopReadGrace);
      }
    }
    if (stopping && (connections.empty() || now >= stop_deadline)) break;

    // Deadlines.
    for (std::size_t i = connections.size(); i-- > 0;) {
      if (now >= connections[i].deadline) close_connection(i);
    }

    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool poll_listener = accepting && now >= accept_paused_until;
    if (poll_listener) fds.push_back({listen_fd_, POLLIN, 0});
    const std::size_t first_connection = fds.size();
    Clock::time_point wake_at = now + kMaxPollWait;
    if (stopping) wake_at = std::min(wake_at, stop_deadline);
    if (accepting && !poll_listener) wake_at = std::min(wake_at, accept_paused_until);
    for (const auto& c : connections) {
      fds.push_back(
          {c.fd, static_cast<short>(c.phase == Connection::Phase::kWriting ? POLLOUT : POLLIN), 0});
      wake_at = std::min(wake_at, c.deadline);
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
        std::max(wake_at - now, Clock::duration::zero()));
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) break;  // cannot happen with valid descriptors
    connections_.store(connections.size());
    if (ready <= 0) continue;

    if ((fds[0].revents & POLLIN) != 0) {
      std::uint64_t value = 0;
      [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &value, sizeof(value));
    }

    // Existing connections first (their indexes match fds from first_connection on); new ones
    // are appended after.
    for (std::size_t i = connections.size(); i-- > 0;) {
      const short revents = fds[first_connection + i].revents;
      if (revents == 0) continue;
      Connection& c = connections[i];
      if (c.phase == Connection::Phase::kWriting) {
        if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 && (revents & POLLOUT) == 0) {
          close_connection(i);
          continue;
        }
        const ssize_t n =
            ::send(c.fd, c.buffer.data() + c.written, c.buffer.size() - c.written, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          close_connection(i);
          continue;
        }
        if (n > 0) c.written += static_cast<std::size_t>(n);
        if (c.written == c.buffer.size()) {
          ::shutdown(c.fd, SHUT_WR);
          c.phase = Connection::Phase::kLingering;
          c.deadline = Clock::now() + kLingerTime;
          std::string().swap(c.buffer);
        }
        continue;
      }
      // Reading (the request head) or lingering (dropping what still comes).
      char chunk[4096];
      bool closed = false;
      for (;;) {
        const std::size_t room =
            c.phase == Connection::Phase::kReading
                ? std::min(sizeof(chunk), kMaxRequestHeadBytes + 1 - c.buffer.size())
                : sizeof(chunk);
        const ssize_t n = ::recv(c.fd, chunk, room, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          closed = true;
          break;
        }
        if (n < 0) break;
        const auto got = static_cast<std::size_t>(n);
        if (c.phase == Connection::Phase::kLingering) {
          c.drained += got;
          if (c.drained > kMaxLingerBytes) closed = true;
          if (closed) break;
          continue;
        }
        c.buffer.append(chunk, got);
        if (c.buffer.size() > kMaxRequestHeadBytes || HeadEnd(c.buffer) != std::string::npos) break;
      }
      if (closed) {
        close_connection(i);
        continue;
      }
      if (c.phase != Connection::Phase::kReading) continue;
      const std::size_t end = HeadEnd(c.buffer);
      if (end == std::string::npos) {
        if (c.buffer.size() > kMaxRequestHeadBytes) {
          answer(c,
                 error_answer(431, "431 request head larger than " +
                                       std::to_string(kMaxRequestHeadBytes) + " bytes\n"),
                 false);
        }
        continue;
      }
      const ParsedHead head = ParseHead(std::string_view(c.buffer).substr(0, end));
      if (!head.ok) {
        answer(c, error_answer(400, "400 malformed request\n"), false);
        continue;
      }
      PlainRequest request;
      request.method = head.method;
      request.path = head.path;
      request.has_body = head.has_body;
      answer(c, options_.handler(request), head.method == "HEAD");
    }

    // New connections.
    if (poll_listener && (fds[1].revents & POLLIN) != 0) {
      for (int k = 0; k < kAcceptsPerTurn; ++k) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            accept_paused_until = Clock::now() + kAcceptPause;
          }
          if (errno == EINTR || errno == ECONNABORTED) continue;
          break;
        }
        int yes = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
        Connection c;
        c.fd = fd;
        c.accepted = Clock::now();
        c.deadline = c.accepted + options_.request_deadline;
        connections.push_back(std::move(c));
        if (connections.size() > kMaxMetricsConnections) {
          // Drop the oldest connection still reading: a flood cannot keep new probes out.
          std::size_t oldest = connections.size();
          for (std::size_t i = 0; i < connections.size(); ++i) {
            if (connections[i].phase != Connection::Phase::kReading) continue;
            if (oldest == connections.size() ||
                connections[i].accepted < connections[oldest].accepted)
              oldest = i;
          }
          if (oldest < connections.size()) close_connection(oldest);
        }
      }
    }
    connections_.store(connections.size());
  }
  for (const auto& c : connections) ::close(c.fd);
  connections_.store(0);
}

}  // namespace irsa::server
