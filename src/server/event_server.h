// The transport of `serve`: both ports on event loops, one per core (at most kMaxShards), each
// with its own io_context, thread and SO_REUSEPORT acceptor for the webhook port, so a
// connection lives on the thread that accepted it and no request crosses threads. Boost.Asio
// waits for readiness; OpenSSL works on the socket itself; Boost.Beast parses HTTP/1.1.
//
// Owns: the listening sockets, the loop threads, every connection (TLS handshake, keep-alive,
// request reading with size limits, answer writing), the deadlines (a sweeper per loop closes a
// handshake or request that did not arrive within the request deadline and counts it as
// stalled; idle keep-alive and slow answers get their own timeouts), the small thread pool
// where the reviews that must wait on the Kubernetes API run (a ServiceAccount not cached yet;
// every other review runs on its connection's loop), and the shutdown order (stop accepting,
// close idle connections, let requests in flight finish, stop the loops).
// Never: decides an answer (a WebhookHandler does, webhook_handler.h), reads files, or touches a
// connection from a thread other than its loop's.
// Thread-safety: Bind/Start/Begin*/Wait*/StopOperations from the owning (main) thread; the
// counters from any thread.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "irsa/status.h"
#include "webhook_endpoint.h"

namespace irsa::server {

class Logger;
class Metrics;

struct EventServerOptions {
  std::string bind_address = "0.0.0.0";
  int webhook_port = 8443;
  int operations_port = 9090;  // 0: none
  // A TLS handshake, and a request from its first byte, must arrive within this time.
  std::chrono::milliseconds request_deadline{10'000};
  // Event loops (threads); 0: one per CPU this process may run on, at most kMaxShards.
  std::size_t shards = 0;
};

// Most event loops `serve` starts on its own (a webhook pod rarely gets more than a few cores).
inline constexpr std::size_t kMaxShards = 4;
// The loops EventServerOptions::shards = 0 starts: one per CPU this process may run on (its
// affinity mask, so a container's cpuset counts), at most kMaxShards.
std::size_t DefaultShards();
// The request line and headers of one request (webhook port). Go's net/http allows 1 MB; the
// kube-apiserver sends a few hundred bytes.
inline constexpr std::size_t kMaxRequestHeadBytes = std::size_t{64} * 1024;
// The same for the operations port: a scrape or a kubelet probe sends a few hundred bytes.
inline constexpr std::size_t kMaxOperationsHeadBytes = std::size_t{8} * 1024;
// Connections on the operations port at once; beyond it the oldest still reading is closed.
inline constexpr std::size_t kMaxOperationsConnections = 512;

class EventServer {
 public:
  // `tls` must outlive the server and be configured for serving (certificate callback, modes).
  EventServer(EventServerOptions options, SSL_CTX* tls, WebhookHandler& webhook,
              OperationsState operations, Metrics& metrics, Logger& logger);
  ~EventServer();
  EventServer(const EventServer&) = delete;
  EventServer& operator=(const EventServer&) = delete;

  // Binds both ports. Errors name the address and port (a port in use by any other socket,
  // SO_REUSEPORT or not, is refused).
  Status Bind();
  // Starts the loop threads, accepting on the webhook port.
  void Start();
  // Starts accepting on the operations port (after the first readiness probe, so /readyz
  // never answers before it).
  void StartOperations();
  // False once a loop stopped without being asked to.
  bool Healthy() const;

  // From now on every answer closes its connection ("Connection: close").
  void BeginShutdown();
  // The webhook port stops accepting; idle keep-alive connections are closed, requests in
  // flight continue and their connections close after the answer.
  void BeginDrain();
  // Waits until every webhook connection has ended, or `deadline`.
  bool WaitWebhookDrained(std::chrono::steady_clock::time_point deadline);
  // Stops the operations port (requests arriving get up to 1 s more, answers being written
  // until `deadline`), then the loops; joins every thread. Connections still open are closed.
  void Stop(std::chrono::steady_clock::time_point deadline);

  // Open connections on the webhook port.
  std::size_t open_connections() const;
  // Event loops (threads) serving the ports.
  std::size_t shard_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace irsa::server
