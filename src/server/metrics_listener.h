// The plain-HTTP listener of `serve --metrics-port`: GET/HEAD /metrics, /healthz and /readyz
// for Prometheus and the kubelet's probes.
//
// Why not cpp-httplib, as on the webhook port: cpp-httplib 0.11 buffers a request line, a
// header line or any number of headers without limit, has no deadline for a whole request
// (only per read), and holds a worker thread per connection. On a port that anything in the
// cluster network may reach, one client streaming an endless header grew the server by
// hundreds of MB, and a few dozen connections that never finished their request left the
// kubelet's probes unanswered (and the pod restarted). The requests here are tiny and carry
// no body, so a small poll(2) loop serves them on one thread.
//
// Owns: the listening socket, the loop thread and every connection's buffer. A connection
// carries one request: its head (request line and headers) must arrive within the request
// deadline and fit in kMaxRequestHeadBytes; the answer is written without blocking, then the
// connection is closed (after draining what the client still sends, for a short while, so
// that a reset does not destroy the answer). Beyond kMaxConnections the oldest connection
// still reading its request is dropped, so a new probe always gets in.
// Never: reads a request body, blocks on a client, keeps a connection for a second request, or
// runs the handler anywhere but on the loop thread.
// Thread-safety: Bind/Start/Stop from the owning thread; the handler and on_response run on the
// loop thread; running() and connections() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "irsa/status.h"

namespace irsa::server {

// Request line and headers; a scrape or a kubelet probe sends a few hundred bytes.
inline constexpr std::size_t kMaxRequestHeadBytes = 8 * 1024;
// Connections at once; each holds at most kMaxRequestHeadBytes.
inline constexpr std::size_t kMaxMetricsConnections = 512;

struct PlainRequest {
  std::string_view method;
  std::string_view path;  // without the query string
  bool has_body = false;  // Content-Length > 0 or Transfer-Encoding
};

struct PlainResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string allow;  // Allow header, for 405
};

struct MetricsListenerOptions {
  std::function<PlainResponse(const PlainRequest&)> handler;
  std::function<void(int status)> on_response;  // every answer, the listener's own 400/431 included
  std::chrono::milliseconds request_deadline{10'000};  // the head must arrive within this time
  std::chrono::milliseconds write_deadline{10'000};    // the answer must be taken within this time
};

class MetricsListener {
 public:
  explicit MetricsListener(MetricsListenerOptions options);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds and listens. Errors name the address and port.
  Status Bind(const std::string& address, int port);
  // Starts the loop thread.
  void Start();
  // True while the loop runs.
  bool running() const { return running_.load(); }
  std::size_t connections() const { return connections_.load(); }
  // Stops accepting at once; requests already arriving get up to 1 s more and answers being
  // written get until `deadline`, then every connection is closed and the thread joined.
  void Stop(std::chrono::steady_clock::time_point deadline);

 private:
  struct Connection;
  void Loop();

  MetricsListenerOptions options_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the loop
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> stop_deadline_ns_{0};  // steady_clock
  std::atomic<std::size_t> connections_{0};
};

}  // namespace irsa::server
