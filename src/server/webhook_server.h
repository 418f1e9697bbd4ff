// The two listeners of `serve` (docs/reference.md sections 2, 6, 7): HTTPS for the kube-apiserver
// (POST /mutate, GET /healthz) and plain HTTP for operations (GET /metrics, /healthz, /readyz).
//
// Owns: cpp-httplib servers and their tuning (TCP_NODELAY, keep-alive, timeouts, listen
// backlog, worker pools), the transport checks done before the rules run (404 unknown path,
// 405 wrong method, 415 not JSON, 413 over the limit, 400 not an AdmissionReview), the
// admission log line and the metrics of each request, and the shutdown order of the
// listeners.
// Never: decides what to patch (Admit() does), reads config or certificate files itself, or
// logs bodies: only names, outcomes and reasons.
// Thread-safety: Bind/Start/Stop*/Wait* from the owning (main) thread; handlers run on the
// worker pools; Housekeeping() from the owning thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "irsa/service_account.h"
#include "irsa/status.h"

namespace irsa::server {

class ConfigStore;
class Logger;
class Metrics;
class TlsCredentials;

struct ListenerOptions {
  std::string bind_address = "0.0.0.0";
  int port = 8443;
  int metrics_port = 9090;  // 0 = no metrics listener
  std::size_t max_request_bytes = std::size_t{8} * 1024 * 1024;
  // A request (or TLS handshake) must arrive completely within this time of its first byte.
  std::chrono::seconds request_read_timeout{10};
};

// True for "application/json", with any parameters ("application/json; charset=utf-8"),
// case-insensitive.
bool IsJsonContentType(std::string_view content_type);

class WebhookServer {
 public:
  WebhookServer(ListenerOptions options, TlsCredentials& tls, const ConfigStore& config,
                const ServiceAccountLookup* lookup, std::function<bool()> lookup_ready,
                Metrics& metrics, Logger& logger);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Binds both ports. Errors name the address and port.
  Status Bind();
  // Starts the accept loops (one thread per listener), the webhook's first, then its first TLS
  // self-probe, then the metrics listener (so /readyz answers with a probe result).
  void Start();
  // False once a listener stopped without being asked to.
  bool Healthy() const;
  bool Ready() const;

  // Periodic work from the owning thread: probes the webhook listener with a TLS handshake
  // (readiness), closes connections whose request stalled.
  void Housekeeping();

  // Shutdown, step 1: /readyz turns 503 and every answer carries "Connection: close"; the
  // webhook port still accepts and serves (the delay while endpoints stop routing here).
  void BeginShutdown();
  // Step 2: the webhook port stops accepting, idle keep-alive connections are closed; requests
  // in flight continue.
  void BeginDrain();
  // Step 3: waits until every webhook connection has finished, or `deadline`. Idle connections
  // that appear meanwhile (a response just sent) are closed as well.
  bool WaitWebhookDrained(std::chrono::steady_clock::time_point deadline);
  // Step 4: stops the metrics listener and waits for it, or `deadline`.
  bool StopMetrics(std::chrono::steady_clock::time_point deadline);

  std::size_t open_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace irsa::server
