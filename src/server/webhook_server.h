// The two listeners of `serve` (docs/reference.md sections 2, 6, 7): HTTPS for the kube-apiserver
// (POST /mutate, GET /healthz) and plain HTTP for operations (GET /metrics, /healthz, /readyz).
//
// Owns: the TLS context of the webhook port (the credentials' settings, buffers released while
// idle), the endpoints and the event-driven transport (event_server.h), readiness (a TLS
// self-probe of the webhook port, the certificate, the ServiceAccount cache) and health, and
// the metrics gauges of the listeners.
// Never: decides what to patch (the endpoints and the rules do), reads config or certificate
// files itself, or logs bodies: only names, outcomes and reasons.
// Thread-safety: Bind/Start/Stop*/Wait*/Housekeeping from the owning (main) thread; Ready() and
// open_connections() from any thread.
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
  // Starts the event loops, then the first TLS self-probe of the webhook port.
  void Start();
  // False once a listener stopped without being asked to.
  bool Healthy() const;
  bool Ready() const;

  // Periodic work from the owning thread: probes the webhook listener with a TLS handshake
  // (readiness).
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
  // Step 4: stops the metrics listener (answers being written get until `deadline`), then the
  // event loops; every connection still open is closed.
  bool StopMetrics(std::chrono::steady_clock::time_point deadline);

  std::size_t open_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace irsa::server
