#include "webhook_server.h"

#include <httplib.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "config_store.h"
#include "connection_tracker.h"
#include "irsa/admission.h"
#include "logging.h"
#include "metrics.h"
#include "metrics_listener.h"
#include "tls_credentials.h"
#include "tls_probe.h"
#include "worker_pool.h"

namespace irsa::server {
namespace {

using Clock = std::chrono::steady_clock;
using httplib::Request;
using httplib::Response;

// The kube-apiserver re-uses keep-alive connections; idle ones close after this long (each
// idle connection holds a worker thread).
constexpr std::time_t kKeepAliveTimeoutSeconds = 10;
// Requests per connection before the server closes it.
constexpr std::size_t kKeepAliveMaxRequests = 1000;
// Longest wait for one read or write on a socket (the whole request is bounded separately by
// ListenerOptions::request_read_timeout).
constexpr std::time_t kSocketTimeoutSeconds = 10;
// Bodies up to this much over --max-request-bytes are read and dropped before the 413, so a
// client still sending sees the answer instead of a reset; beyond it the connection is closed.
constexpr std::size_t kMaxDrainBytes = 64 * 1024 * 1024;
// Concurrent connections served on the webhook port; beyond it, connections wait in the queue.
constexpr std::size_t kMaxWebhookThreads = 4096;
// Threads kept alive when idle, and how long the others wait for work before exiting.
constexpr std::size_t kWarmThreads = 2;
constexpr std::chrono::milliseconds kIdleThreadTimeout{30'000};
// Worker stacks: the admission path is shallow (parsing is iterative, nesting is capped at
// kMaxNestingDepth). Sanitizers multiply stack use.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t kWorkerStackBytes = 4 * 1024 * 1024;
#else
constexpr std::size_t kWorkerStackBytes = 256 * 1024;
#endif
// Pending connections the kernel queues for accept(); cpp-httplib's compiled default is 5,
// which drops SYNs when hundreds of connections open at once.
constexpr int kListenBacklog = 4096;
// How often draining re-checks the connections.
constexpr std::chrono::milliseconds kDrainPollInterval{50};
// The readiness self-probe's TLS handshake must finish within this time (it runs on the
// housekeeping thread, between file polls).
constexpr std::chrono::milliseconds kTlsProbeTimeout{1000};

constexpr const char* kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kMutatePath = "/mutate";
constexpr std::string_view kHealthzPath = "/healthz";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

bool IsChunked(const Request& req) { return req.has_header("Transfer-Encoding"); }

// Methods whose request cpp-httplib reads a body for: without Content-Length or
// Transfer-Encoding it reads until the client closes, into memory, with no limit.
bool ReadsBody(const Request& req) {
  return req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
         req.method == "DELETE" || req.method == "PRI";
}

bool BodyUntilEof(const Request& req) {
  return ReadsBody(req) && !req.has_header("Content-Length") &&
         !req.has_header("Transfer-Encoding");
}

void SetError(Response& res, int status, std::string_view message) {
  res.status = status;
  std::string body(message);
  body += '\n';
  res.set_content(body, kTextPlain);
}

// Listening socket options: SO_REUSEADDR for quick restarts, but not cpp-httplib's default
// SO_REUSEPORT, which would let a second server silently share the port. TCP_NODELAY is
// inherited by accepted sockets: without it each response waits ~40 ms for Nagle.
httplib::SocketOptions ListenSocketOptions(int* fd_out) {
  return [fd_out](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    *fd_out = sock;
  };
}

void Tune(httplib::Server& server, WorkerPool& pool, std::size_t max_request_bytes, int* fd_out) {
  server.new_task_queue = [&pool] { return pool.NewTaskQueue(); };
  server.set_socket_options(ListenSocketOptions(fd_out));
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(kKeepAliveMaxRequests);
  server.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server.set_read_timeout(kSocketTimeoutSeconds, 0);
  server.set_write_timeout(kSocketTimeoutSeconds, 0);
  server.set_payload_max_length(max_request_bytes);
}

// AdmissionReviewers (each keeps a simdjson parser's buffers) for the requests being handled at
// this moment. Threads are per connection and mostly idle, so a reviewer per thread would pin
// buffers in hundreds of idle threads; a shared free list needs only as many as run at once.
class ReviewerPool {
 public:
  std::unique_ptr<AdmissionReviewer> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        auto reviewer = std::move(free_.back());
        free_.pop_back();
        return reviewer;
      }
    }
    return std::make_unique<AdmissionReviewer>();
  }
  void Release(std::unique_ptr<AdmissionReviewer> reviewer) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < kMaxIdleReviewers) free_.push_back(std::move(reviewer));
  }

 private:
  // Reviewers kept between bursts; more are made on demand and freed after use.
  static constexpr std::size_t kMaxIdleReviewers = 16;
  std::mutex mutex_;
  std::vector<std::unique_ptr<AdmissionReviewer>> free_;
};

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  return EqualsIgnoreCase(Trim(content_type.substr(0, semicolon)), "application/json");
}

class WebhookServer::Impl {
 public:
  Impl(ListenerOptions options, TlsCredentials& tls, const ConfigStore& config,
       const ServiceAccountLookup* lookup, std::function<bool()> lookup_ready, Metrics& metrics,
       Logger& logger)
      : options_(std::move(options)),
        tls_(tls),
        config_(config),
        lookup_(lookup),
        lookup_ready_(std::move(lookup_ready)),
        metrics_(metrics),
        logger_(logger),
        webhook_pool_(
            {kMaxWebhookThreads, kWarmThreads, kIdleThreadTimeout, kWorkerStackBytes, &tracker_}) {
    metrics_.AddGauge("irsa_webhook_worker_threads", "Worker threads of the webhook listener.",
                      [this] { return static_cast<double>(webhook_pool_.threads()); });
    metrics_.AddGauge("irsa_webhook_open_connections", "Open connections on the webhook listener.",
                      [this] { return static_cast<double>(tracker_.counts().open); });
    metrics_.AddGauge("irsa_webhook_ready", "1 when /readyz answers 200.",
                      [this] { return Ready() ? 1.0 : 0.0; });
    metrics_.AddGauge(
        "irsa_webhook_tls_certificate_expiry_timestamp_seconds",
        "notAfter of the serving certificate in use, as Unix time (0 before one is loaded).",
        [this] { return static_cast<double>(tls_.NotAfterUnixSeconds().value_or(0)); });
  }

  ~Impl() {
    StopListener(https_.get(), https_thread_);
    if (metrics_listener_) metrics_listener_->Stop(Clock::now());
  }

  Status Bind() {
    https_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) {
      if (!tls_.ConfigureContext(ctx)) return false;
      ConnectionTracker::InstallTlsCallbacks(ctx);
      return true;
    });
    if (!https_->is_valid())
      return Status::Error("cannot set up TLS (OpenSSL rejected the settings)");
    Tune(*https_, webhook_pool_, options_.max_request_bytes, &https_fd_);
    SetupWebhookRoutes();
    if (auto s = BindOne(*https_, options_.port, https_fd_); !s.ok()) return s;

    if (options_.metrics_port != 0) {
      MetricsListenerOptions listener;
      listener.handler = [this](const PlainRequest& req) { return HandleMetricsRequest(req); };
      listener.on_response = [this](int status) { metrics_.CountHttpResponse(false, status); };
      listener.request_deadline = options_.request_read_timeout;
      listener.write_deadline = std::chrono::seconds(kSocketTimeoutSeconds);
      metrics_listener_ = std::make_unique<MetricsListener>(std::move(listener));
      if (auto s = metrics_listener_->Bind(options_.bind_address, options_.metrics_port); !s.ok())
        return s;
    }
    return Status::Ok();
  }

  void Start() {
    https_thread_ = std::thread([this] {
      https_->listen_after_bind();
      https_done_.store(true);
    });
    if (metrics_listener_) metrics_listener_->Start();
    // stop() is a no-op until the accept loop runs; wait for it so a signal that arrives right
    // after startup still stops the server.
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < give_up && !https_->is_running() && !https_done_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  bool Healthy() const {
    if (https_done_.load() && !draining_.load()) return false;
    if (metrics_listener_ && !metrics_listener_->running() && !metrics_stopping_.load())
      return false;
    return true;
  }

  bool Ready() const {
    if (shutting_down_.load(std::memory_order_relaxed) || !tls_.loaded()) return false;
    if (!https_answers_.load(std::memory_order_relaxed)) return false;
    return !lookup_ready_ || lookup_ready_();
  }

  // A TLS handshake with our own webhook listener; /readyz reports its result.
  void ProbeHttps() {
    if (!https_ || shutting_down_.load()) return;
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

  void Housekeeping() {
    ProbeHttps();
    // Worker threads retired after a burst: hand the memory their malloc arenas still hold back
    // to the kernel, so an idle server returns to its idle size.
    const std::size_t threads = webhook_pool_.threads();
    if (threads < threads_at_last_housekeeping_) malloc_trim(0);
    threads_at_last_housekeeping_ = threads;

    const std::size_t closed = tracker_.CloseStalled(options_.request_read_timeout);
    for (std::size_t i = 0; i < closed; ++i) metrics_.CountStalledConnectionClosed();
    if (closed > 0) {
      logger_.Warn(
          "closed stalled connections",
          {{"count", closed},
           {"reason", "request or TLS handshake not received in time"},
           {"timeout_seconds", static_cast<std::int64_t>(options_.request_read_timeout.count())}});
    }
    const std::size_t oversized = tracker_.TakeOversizedClosed();
    for (std::size_t i = 0; i < oversized; ++i) metrics_.CountOversizedRequestClosed();
    if (oversized > 0) {
      logger_.Warn(
          "closed connections with oversized requests",
          {{"count", oversized},
           {"reason", "request line and headers (or a chunk-size line) larger than the limit"},
           {"limit_bytes", static_cast<std::int64_t>(kRequestHeadAllowance)}});
    }
  }

  void BeginShutdown() {
    shutting_down_.store(true);
    logger_.Info("not ready; still serving", {{"open_connections", tracker_.counts().open}});
  }

  void BeginDrain() {
    shutting_down_.store(true);
    draining_.store(true);
    if (https_) https_->stop();
    const std::size_t idle = tracker_.CloseIdle();
    const auto counts = tracker_.counts();
    logger_.Info("draining",
                 {{"closed_idle_connections", idle}, {"open_connections", counts.open}});
  }

  bool WaitWebhookDrained(Clock::time_point deadline) {
    while (!https_done_.load()) {
      if (Clock::now() >= deadline) return false;
      tracker_.CloseIdle();
      Housekeeping();
      std::this_thread::sleep_for(kDrainPollInterval);
    }
    if (https_thread_.joinable()) https_thread_.join();
    return true;
  }

  bool StopMetrics(Clock::time_point deadline) {
    if (!metrics_listener_) return true;
    metrics_stopping_.store(true);
    metrics_listener_->Stop(deadline);  // joins its thread by `deadline`
    return true;
  }

  std::size_t open_connections() const { return tracker_.counts().open; }

 private:
  Status BindOne(httplib::Server& server, int port, int& fd) {
    errno = 0;
    if (!server.bind_to_port(options_.bind_address, port)) {
      const int error = errno;
      return Status::Error("cannot listen on " + options_.bind_address + ":" +
                           std::to_string(port) +
                           (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
    }
    if (fd >= 0) ::listen(fd, kListenBacklog);  // raise cpp-httplib's backlog of 5
    return Status::Ok();
  }

  static void StopListener(httplib::Server* server, std::thread& thread) {
    if (server != nullptr && thread.joinable()) {
      server->stop();
      thread.join();
    }
  }

  // --- webhook listener -------------------------------------------------------------------

  // What a request gets before its body is read; nullopt = go on.
  std::optional<int> EarlyVerdict(const Request& req, std::string* allow) const {
    if (req.path == kMutatePath) {
      if (req.method != "POST") {
        *allow = "POST";
        return 405;
      }
      if (!IsJsonContentType(req.get_header_value("Content-Type"))) return 415;
    } else if (req.path == kHealthzPath) {
      if (req.method != "GET" && req.method != "HEAD") {
        *allow = "GET, HEAD";
        return 405;
      }
    } else {
      return 404;
    }
    if (req.has_header("Content-Length") &&
        req.get_header_value<std::uint64_t>("Content-Length") > options_.max_request_bytes) {
      return 413;
    }
    return std::nullopt;
  }

  void Reject(const Request& req, Response& res, int status, const std::string& allow,
              std::string_view detail) {
    if (!allow.empty()) res.set_header("Allow", allow);
    std::string message;
    switch (status) {
      case 404:
        message =
            "404 not found: " + req.path + " (the webhook serves POST /mutate and GET /healthz)";
        break;
      case 405:
        message = "405 method " + req.method + " not allowed on " + req.path +
                  " (allowed: " + allow + ")";
        break;
      case 413:
        message = "413 request body larger than " + std::to_string(options_.max_request_bytes) +
                  " bytes (--max-request-bytes)";
        break;
      case 415:
        message = "415 Content-Type must be application/json, not \"" +
                  req.get_header_value("Content-Type") + "\"";
        break;
      default:
        message = std::to_string(status) + " " + std::string(detail);
    }
    SetError(res, status, message);
    logger_.Debug("request refused",
                  {{"status", status},
                   {"method", req.method},
                   {"path", req.path},
                   {"remote", req.remote_addr},
                   {"reason", detail.empty() ? std::string_view(message) : detail}});
  }

  // The most cpp-httplib reads of a body by itself (bodies far over the limit are refused).
  std::uint64_t BodyAllowance() const {
    return static_cast<std::uint64_t>(options_.max_request_bytes) + kMaxDrainBytes;
  }

  // A refusal with its own message (for the cases Reject() does not word).
  void RejectWith(const Request& req, Response& res, int status, const std::string& message) {
    SetError(res, status, message);
    logger_.Debug("request refused", {{"status", status},
                                      {"method", req.method},
                                      {"path", req.path},
                                      {"remote", req.remote_addr},
                                      {"reason", message}});
  }

  void SetupWebhookRoutes() {
    auto& s = *https_;
    // Everything that can be refused without reading the body is refused here. A body left
    // unread makes the connection unusable for a next request, so it is closed after the reply.
    s.set_pre_routing_handler([this](const Request& req, Response& res) {
      const std::uint64_t declared = req.get_header_value<std::uint64_t>("Content-Length");
      ConnectionTracker::OnHeadersComplete(std::min(declared, BodyAllowance()));
      std::string allow;
      if (req.method == "TRACE" || req.method == "CONNECT") {
        ConnectionTracker::CloseAfterResponse();
        Reject(req, res, 405, req.path == kHealthzPath ? "GET, HEAD" : "POST", "");
        return httplib::Server::HandlerResponse::Handled;
      }
      // Transfer codings other than chunked are not implemented (RFC 9112 section 6.1), and
      // compressed bodies are refused: the kube-apiserver sends neither, and decompression would
      // let a small body inflate into a large one.
      if (req.has_header("Transfer-Encoding") &&
          !EqualsIgnoreCase(Trim(req.get_header_value("Transfer-Encoding")), "chunked")) {
        ConnectionTracker::CloseAfterResponse();
        RejectWith(req, res, 501,
                   "501 Transfer-Encoding \"" + req.get_header_value("Transfer-Encoding") +
                       "\" not implemented (only chunked)");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.has_header("Content-Encoding") &&
          !EqualsIgnoreCase(Trim(req.get_header_value("Content-Encoding")), "identity")) {
        ConnectionTracker::CloseAfterResponse();
        RejectWith(req, res, 415,
                   "415 Content-Encoding \"" + req.get_header_value("Content-Encoding") +
                       "\" not supported: send the body uncompressed");
        return httplib::Server::HandlerResponse::Handled;
      }
      const std::optional<int> verdict = EarlyVerdict(req, &allow);
      // Far over the limit, or a body outside POST /mutate that is chunked or has no length
      // (cpp-httplib 0.11 reads those without a limit): refuse now instead of reading it. A
      // body moderately over the limit is read and dropped by cpp-httplib
      // (set_payload_max_length), so the client, still sending, gets its 413 on a connection
      // that stays usable.
      const bool far_over_limit =
          verdict == 413 &&
          declared > static_cast<std::uint64_t>(options_.max_request_bytes) + kMaxDrainBytes;
      if (far_over_limit || (verdict && *verdict != 413 && *verdict != 415 &&
                             (IsChunked(req) || BodyUntilEof(req)))) {
        ConnectionTracker::CloseAfterResponse();
        Reject(req, res, *verdict, allow, "");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // "Expect: 100-continue" (curl sends it for large bodies): answer the final status before
    // the client sends a body it would be refused.
    s.set_expect_100_continue_handler([this](const Request& req, Response& res) {
      ConnectionTracker::OnHeadersComplete(
          std::min(req.get_header_value<std::uint64_t>("Content-Length"), BodyAllowance()));
      std::string allow;
      const std::optional<int> verdict = EarlyVerdict(req, &allow);
      if (!verdict) return 100;
      Reject(req, res, *verdict, allow, "");
      return *verdict;
    });
    s.Post(std::string(kMutatePath),
           [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
             HandleMutate(req, res, reader);
           });
    s.Get(std::string(kHealthzPath), [](const Request&, Response& res) {
      ConnectionTracker::OnRequestComplete();
      res.set_content("ok\n", kTextPlain);
    });
    // Wrong methods on known paths, and unknown paths, once cpp-httplib has read the body.
    const auto refuse = [this](const Request& req, Response& res) {
      ConnectionTracker::OnRequestComplete();
      std::string allow;
      const std::optional<int> verdict = EarlyVerdict(req, &allow);
      Reject(req, res, verdict.value_or(404), allow, "");
    };
    for (const char* path : {"/mutate", "/healthz"}) {
      s.Put(path, refuse);
      s.Patch(path, refuse);
      s.Delete(path, refuse);
      s.Options(path, refuse);
    }
    s.Get(std::string(kMutatePath), refuse);
    s.Post(std::string(kHealthzPath), refuse);
    s.set_error_handler([this](const Request& req, Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) {
        Reject(req, res, 404, "", "");
      } else {
        SetError(res, res.status, std::to_string(res.status) + " request refused");
      }
    });
    s.set_exception_handler([this](const Request& req, Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      logger_.Error("internal error", {{"path", req.path}, {"error", what}});
      SetError(res, 500, "500 internal error");
    });
    // From the shutdown signal on (the delay included), every answer closes its connection and
    // says so: cpp-httplib ends a keep-alive connection once the listener stopped, and a client
    // that already sent its next request on it would get no answer (the kube-apiserver does not
    // retry a POST it has written). With "Connection: close" the client opens a new connection
    // instead, which the Service routes to a pod that is still serving; busy connections thus
    // leave this pod during the delay, before it stops accepting.
    s.set_post_routing_handler([this](const Request&, Response& res) {
      if (!shutting_down_.load(std::memory_order_relaxed)) return;
      res.set_header("Connection", "close");
      ConnectionTracker::CloseAfterResponse();
    });
    s.set_logger([this](const Request&, const Response& res) {
      metrics_.CountHttpResponse(true, res.status);
      ConnectionTracker::OnResponseSent();
    });
  }

  void HandleMutate(const Request& req, Response& res, const httplib::ContentReader& reader) {
    const std::size_t limit = options_.max_request_bytes;
    if (!IsJsonContentType(req.get_header_value("Content-Type"))) {
      // Read (and drop) the body so the connection can carry the next request.
      std::size_t seen = 0;
      const bool drained = reader([&](const char*, std::size_t n) {
        ConnectionTracker::OnBodyProgress();
        return (seen += n) <= limit + kMaxDrainBytes;
      });
      if (!drained && res.status != 413) ConnectionTracker::CloseAfterResponse();
      Reject(req, res, 415, "", "");
      return;
    }
    std::string body;
    if (req.has_header("Content-Length")) {
      body.reserve(static_cast<std::size_t>(
          std::min<std::uint64_t>(req.get_header_value<std::uint64_t>("Content-Length"), limit)));
    }
    // Over the limit (possible only for chunked bodies; a Content-Length over it is refused and
    // drained by cpp-httplib, leaving res.status 413): keep reading and dropping up to
    // kMaxDrainBytes, so the 413 reaches a client that is still sending.
    std::size_t total = 0;
    const bool read = reader([&](const char* data, std::size_t n) {
      ConnectionTracker::OnBodyProgress();
      total += n;
      if (total > limit) {
        if (!body.empty()) std::string().swap(body);
        return total <= limit + kMaxDrainBytes;
      }
      body.append(data, n);
      return true;
    });
    if (total > limit || res.status == 413) {
      if (!read && res.status != 413) ConnectionTracker::CloseAfterResponse();
      Reject(req, res, 413, "", "");
      return;
    }
    if (!read) {
      ConnectionTracker::CloseAfterResponse();
      Reject(req, res, 400, "", "request body could not be read");
      return;
    }
    ConnectionTracker::OnRequestComplete();
    const auto started = Clock::now();

    const std::shared_ptr<const Config> config = config_.Current();
    std::unique_ptr<AdmissionReviewer> reviewer = reviewers_.Acquire();
    Result<AdmissionReviewer::Reviewed> reviewed = reviewer->Review(*config, body, lookup_);
    reviewers_.Release(std::move(reviewer));
    if (!reviewed.ok()) {
      SetError(res, 400, "400 not a valid AdmissionReview: " + reviewed.error());
      logger_.Warn("invalid AdmissionReview",
                   {{"status", 400}, {"remote", req.remote_addr}, {"error", reviewed.error()}});
      return;
    }
    res.body = std::move(reviewed->response);
    res.set_header("Content-Type", "application/json");
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    const AdmissionRequest* request = &reviewed->request;
    const AdmissionResult& result = reviewed->result;
    const Mutation& m = result.mutation;
    metrics_.ObserveAdmission(request->group, request->kind, request->operation, m.outcome,
                              seconds);
    const LogLevel level = m.outcome == Outcome::kError ? LogLevel::kWarn : LogLevel::kInfo;
    if (logger_.Enabled(level)) {
      logger_.Log(level, "admission",
                  {{"uid", request->uid},
                   {"kind", request->kind},
                   {"operation", request->operation},
                   {"namespace", result.ns},
                   {"name", result.object_name},
                   {"outcome", OutcomeName(m.outcome)},
                   {"reason", m.reason},
                   {"role", m.role_arn},
                   {"binding", m.binding},
                   {"patch_operations", m.patch.size()},
                   {"warnings", m.warnings.size()},
                   {"dry_run", request->dry_run},
                   {"duration_ms", seconds * 1e3}});
    }
  }

  // --- metrics listener -------------------------------------------------------------------

  PlainResponse HandleMetricsRequest(const PlainRequest& req) {
    PlainResponse res;
    const auto error = [&](int status, std::string message) {
      res.status = status;
      res.body = std::move(message) + "\n";
      return res;
    };
    const bool known = req.path == "/metrics" || req.path == "/healthz" || req.path == "/readyz";
    if (!known) {
      return error(404, "404 not found: " + std::string(req.path) +
                            " (this port serves /metrics, /healthz, /readyz)");
    }
    if ((req.method != "GET" && req.method != "HEAD") || req.has_body) {
      res.allow = "GET, HEAD";
      return error(405, "405 method " + std::string(req.method) + " not allowed on " +
                            std::string(req.path) + " (allowed: GET, HEAD)");
    }
    if (req.path == "/metrics") {
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = metrics_.Render();
      return res;
    }
    if (req.path == "/healthz") {
      if (!Healthy()) return error(503, "503 a listener stopped");
      res.body = "ok\n";
      return res;
    }
    if (Ready()) {
      res.body = "ok\n";
      return res;
    }
    std::string why;
    if (shutting_down_.load()) {
      why = "shutting down";
    } else if (!tls_.loaded()) {
      why = "no certificate loaded";
    } else if (!https_answers_.load()) {
      std::lock_guard<std::mutex> lock(probe_mutex_);
      why = probe_error_.empty() ? "webhook listener not probed yet" : probe_error_;
    } else {
      why = "ServiceAccount cache not synced";
    }
    return error(503, "503 not ready: " + why);
  }

  ListenerOptions options_;
  TlsCredentials& tls_;
  const ConfigStore& config_;
  const ServiceAccountLookup* lookup_;
  std::function<bool()> lookup_ready_;
  Metrics& metrics_;
  Logger& logger_;

  ReviewerPool reviewers_;
  ConnectionTracker tracker_;
  WorkerPool webhook_pool_;
  std::unique_ptr<httplib::SSLServer> https_;
  std::unique_ptr<MetricsListener> metrics_listener_;
  int https_fd_ = -1;
  std::thread https_thread_;
  std::atomic<bool> https_done_{false};
  std::atomic<bool> shutting_down_{false};  // /readyz 503, answers close their connection
  std::atomic<bool> draining_{false};       // the webhook listener stopped accepting
  std::atomic<bool> https_answers_{false};  // the last TLS self-probe succeeded
  mutable std::mutex probe_mutex_;
  std::string probe_error_;  // guarded by probe_mutex_: why the last self-probe failed
  std::atomic<bool> metrics_stopping_{false};
  std::size_t threads_at_last_housekeeping_ = 0;  // owning thread only
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
