#include "webhook_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <mutex>
#include <optional>

#include "event_server.h"
#include "logging.h"
#include "metrics.h"
#include "tls_credentials.h"
#include "tls_probe.h"
#include "webhook_endpoint.h"

namespace irsa::server {
namespace {

using Clock = std::chrono::steady_clock;

// The readiness self-probe's TLS handshake must finish within this time (it runs on the
// housekeeping thread, between file polls).
constexpr std::chrono::milliseconds kTlsProbeTimeout{1000};

struct SslContextFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

}  // namespace

class WebhookServer::Impl {
 public:
  Impl(ListenerOptions options, TlsCredentials& tls, const ConfigStore& config,
       const ServiceAccountLookup* lookup, std::function<bool()> lookup_ready, Metrics& metrics,
       Logger& logger)
      : options_(std::move(options)),
        tls_(tls),
        lookup_ready_(std::move(lookup_ready)),
        metrics_(metrics),
        logger_(logger),
        endpoint_(options_.max_request_bytes, config, lookup, metrics, logger) {
    metrics_.AddGauge("irsa_webhook_worker_threads",
                      "Event-loop threads serving the webhook and metrics ports.",
                      [this] { return server_ ? static_cast<double>(server_->shard_count()) : 0; });
    metrics_.AddGauge(
        "irsa_webhook_open_connections", "Open connections on the webhook listener.",
        [this] { return server_ ? static_cast<double>(server_->open_connections()) : 0; });
    metrics_.AddGauge("irsa_webhook_ready", "1 when /readyz answers 200.",
                      [this] { return Ready() ? 1.0 : 0.0; });
    metrics_.AddGauge(
        "irsa_webhook_tls_certificate_expiry_timestamp_seconds",
        "notAfter of the serving certificate in use, as Unix time (0 before one is loaded).",
        [this] { return static_cast<double>(tls_.NotAfterUnixSeconds().value_or(0)); });
  }

  ~Impl() {
    if (server_) server_->Stop(Clock::now());
  }

  Status Bind() {
    ssl_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!ssl_ctx_ || !tls_.ConfigureContext(*ssl_ctx_)) {
      ERR_clear_error();
      return Status::Error("cannot set up TLS (OpenSSL rejected the settings)");
    }
    // Idle connections give their TLS buffers back; writes may be partial and resumed.
    SSL_CTX_set_mode(ssl_ctx_.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                         SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ssl_ctx_.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);

    OperationsState operations;
    operations.metrics = &metrics_;
    operations.healthy = [this] { return Healthy(); };
    operations.unready = [this] { return Unready(); };
    EventServerOptions server_options;
    server_options.bind_address = options_.bind_address;
    server_options.webhook_port = options_.port;
    server_options.operations_port = options_.metrics_port;
    server_options.request_deadline = options_.request_read_timeout;
    server_ = std::make_unique<EventServer>(server_options, ssl_ctx_.get(), endpoint_,
                                            std::move(operations), metrics_, logger_);
    return server_->Bind();
  }

  void Start() {
    server_->Start();
    // The first TLS self-probe before /readyz can be asked: it never reports "not probed yet".
    ProbeHttps();
    server_->StartOperations();
  }

  bool Healthy() const { return server_ && server_->Healthy(); }

  bool Ready() const { return !Unready().has_value(); }

  // Why /readyz fails; nullopt when ready.
  std::optional<std::string> Unready() const {
    if (shutting_down_.load(std::memory_order_relaxed)) return "shutting down";
    if (!tls_.loaded()) return "no certificate loaded";
    if (!https_answers_.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(probe_mutex_);
      return probe_error_.empty() ? "webhook listener not probed yet" : probe_error_;
    }
    if (lookup_ready_ && !lookup_ready_()) return "ServiceAccount cache not synced";
    return std::nullopt;
  }

  // A TLS handshake with our own webhook listener; /readyz reports its result.
  void ProbeHttps() {
    if (!server_ || shutting_down_.load()) return;
    const Status probe =
        ProbeTlsHandshake(ProbeAddress(options_.bind_address), options_.port, kTlsProbeTimeout);
    const bool answered = probe.ok();
    if (answered != https_answers_.load()) {
      if (answered) {
        logger_.Info("webhook listener answers TLS handshakes");
      } else {
        logger_.Warn("webhook listener does not answer TLS handshakes; not ready",
                     {{"error", probe.message()}});
      }
    }
    {
      std::lock_guard<std::mutex> lock(probe_mutex_);
      probe_error_ = answered ? std::string() : probe.message();
    }
    https_answers_.store(answered);
  }

  void Housekeeping() { ProbeHttps(); }

  void BeginShutdown() {
    shutting_down_.store(true);
    server_->BeginShutdown();
    logger_.Info("not ready; still serving", {{"open_connections", server_->open_connections()}});
  }

  void BeginDrain() {
    shutting_down_.store(true);
    server_->BeginDrain();
    logger_.Info("draining", {{"open_connections", server_->open_connections()}});
  }

  bool WaitWebhookDrained(Clock::time_point deadline) {
    return server_->WaitWebhookDrained(deadline);
  }

  bool StopMetrics(Clock::time_point deadline) {
    server_->Stop(deadline);
    return true;
  }

  std::size_t open_connections() const { return server_ ? server_->open_connections() : 0; }

 private:
  ListenerOptions options_;
  TlsCredentials& tls_;
  std::function<bool()> lookup_ready_;
  Metrics& metrics_;
  Logger& logger_;
  WebhookEndpoint endpoint_;
  std::unique_ptr<SSL_CTX, SslContextFree> ssl_ctx_;
  std::unique_ptr<EventServer> server_;
  std::atomic<bool> shutting_down_{false};  // /readyz 503
  std::atomic<bool> https_answers_{false};  // the last TLS self-probe succeeded
  mutable std::mutex probe_mutex_;
  std::string probe_error_;  // guarded by probe_mutex_: why the last self-probe failed
};

WebhookServer::WebhookServer(ListenerOptions options, TlsCredentials& tls,
                             const ConfigStore& config, const ServiceAccountLookup* lookup,
                             std::function<bool()> lookup_ready, Metrics& metrics, Logger& logger)
    : impl_(std::make_unique<Impl>(std::move(options), tls, config, lookup, std::move(lookup_ready),
                                   metrics, logger)) {}
WebhookServer::~WebhookServer() = default;
Status WebhookServer::Bind() { return impl_->Bind(); }
void WebhookServer::Start() { impl_->Start(); }
bool WebhookServer::Healthy() const { return impl_->Healthy(); }
bool WebhookServer::Ready() const { return impl_->Ready(); }
void WebhookServer::Housekeeping() { impl_->Housekeeping(); }
void WebhookServer::BeginShutdown() { impl_->BeginShutdown(); }
void WebhookServer::BeginDrain() { impl_->BeginDrain(); }
bool WebhookServer::WaitWebhookDrained(Clock::time_point deadline) {
  return impl_->WaitWebhookDrained(deadline);
}
bool WebhookServer::StopMetrics(Clock::time_point deadline) { return impl_->StopMetrics(deadline); }
std::size_t WebhookServer::open_connections() const { return impl_->open_connections(); }

}  // namespace irsa::server
