#include "webhook_endpoint.h"

#include <cctype>
#include <chrono>
#include <exception>

#include "config_store.h"
#include "irsa/text.h"
#include "logging.h"
#include "metrics.h"

namespace irsa::server {
namespace {

constexpr std::string_view kMutatePath = "/mutate";
constexpr std::string_view kHealthzPath = "/healthz";
constexpr std::string_view kMetricsPath = "/metrics";
constexpr std::string_view kReadyzPath = "/readyz";
constexpr std::string_view kGetOrHead = "GET, HEAD";
constexpr const char* kJson = "application/json";
constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";
// AdmissionReviewers kept between bursts; more are made on demand and freed after use.
constexpr std::size_t kMaxIdleReviewers = 16;

bool IsToken(std::string_view value, std::string_view token) {
  value = Trim(value);
  if (value.size() != token.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != token[i]) return false;
  }
  return true;
}

Response Plain(int status, std::string message, std::string allow = {}) {
  Response res;
  res.status = status;
  res.body = std::move(message);
  res.body.push_back('\n');
  res.allow = std::move(allow);
  return res;
}

// A lookup that never waits: the inner lookup's answer when it is at hand; otherwise nullopt,
// and gave_up() is true from then on, so the review's answer is not used.
class LookupWithoutWaiting final : public ServiceAccountLookup {
 public:
  explicit LookupWithoutWaiting(const ServiceAccountLookup& inner) : inner_(inner) {}

  std::optional<ServiceAccountInfo> Find(std::string_view ns,
                                         std::string_view name) const override {
    ImmediateLookup answer = inner_.FindWithoutWaiting(ns, name);
    if (!answer.known) gave_up_ = true;
    return std::move(answer.account);
  }
  ImmediateLookup FindWithoutWaiting(std::string_view ns, std::string_view name) const override {
    return inner_.FindWithoutWaiting(ns, name);
  }
  bool gave_up() const { return gave_up_; }

 private:
  const ServiceAccountLookup& inner_;
  mutable bool gave_up_ = false;  // one review on one thread
};

// answer(), or a 500 when it throws (logged; the request is not lost silently).
template <typename Answer>
std::optional<Response> Guarded(Logger& logger, const RequestHead& head, const Answer& answer) {
  try {
    return answer();
  } catch (const std::exception& e) {
    logger.Error("internal error", {{"path", head.path()}, {"error", e.what()}});
  } catch (...) {
    logger.Error("internal error", {{"path", head.path()}, {"error", "unknown exception"}});
  }
  return Plain(500, "500 internal error");
}

}  // namespace

WebhookEndpoint::WebhookEndpoint(std::size_t max_request_bytes, const ConfigStore& config,
                                 const ServiceAccountLookup* lookup, Metrics& metrics,
                                 Logger& logger)
    : max_request_bytes_(max_request_bytes),
      config_(config),
      lookup_(lookup),
      metrics_(metrics),
      logger_(logger) {}

WebhookEndpoint::~WebhookEndpoint() = default;

Response WebhookEndpoint::Refuse(const RequestHead& head, int status, std::string message,
                                 std::string allow) const {
  logger_.LogPerRequest(LogLevel::kDebug, "request refused",
                        {{"status", status},
                         {"method", head.method},
                         {"path", head.path()},
                         {"remote", head.remote},
                         {"reason", message}});
  return Plain(status, std::move(message), std::move(allow));
}

std::optional<Response> WebhookEndpoint::Screen(const RequestHead& head) const {
  const std::string_view path = head.path();
  const bool mutate = path == kMutatePath;
  const bool healthz = path == kHealthzPath;
  const std::string allow = mutate ? "POST" : std::string(kGetOrHead);
  const auto method_not_allowed = [&] {
    return Refuse(head, 405,
                  "405 method " + std::string(head.method) + " not allowed on " +
                      std::string(path) + " (allowed: " + allow + ")",
                  allow);
  };
  if ((mutate || healthz) && (head.method == "TRACE" || head.method == "CONNECT"))
    return method_not_allowed();
  // Transfer codings other than chunked are not implemented (RFC 9112 section 6.1), and
  // compressed bodies are refused: the kube-apiserver sends neither, and decompression would
  // let a small body inflate into a large one.
  if (head.transfer_encoding && !IsToken(*head.transfer_encoding, "chunked")) {
    return Refuse(head, 501,
                  "501 Transfer-Encoding " + Quote(*head.transfer_encoding) +
                      " not implemented (only chunked)");
  }
  if (head.content_encoding && !IsToken(*head.content_encoding, "identity")) {
    return Refuse(head, 415,
                  "415 Content-Encoding " + Quote(*head.content_encoding) +
                      " not supported: send the body uncompressed");
  }
  std::optional<std::uint64_t> length;
  if (head.content_length) {
    length = ParseContentLength(*head.content_length);
    if (!length) {
      return Refuse(head, 400,
                    "400 malformed Content-Length " + Quote(*head.content_length) +
                        " (a decimal number of bytes)");
    }
  }
  if (!mutate && !healthz) {
    return Refuse(head, 404,
                  "404 not found: " + std::string(path) +
                      " (the webhook serves POST /mutate and GET /healthz)");
  }
  if (healthz) {
    if (head.method != "GET" && head.method != "HEAD") return method_not_allowed();
    return std::nullopt;
  }
  if (head.method != "POST") return method_not_allowed();
  if (!head.content_type || !IsJsonContentType(*head.content_type)) {
    return Refuse(
        head, 415,
        "415 Content-Type must be application/json, not " + Quote(head.content_type.value_or("")));
  }
  if (!length && !head.transfer_encoding) {
    return Refuse(head, 411, "411 POST /mutate needs a Content-Length or a chunked body");
  }
  if (length && *length > max_request_bytes_) return BodyTooLarge();
  return std::nullopt;
}

Response WebhookEndpoint::BodyTooLarge() const {
  return Plain(413, "413 request body larger than " + std::to_string(max_request_bytes_) +
                        " bytes (--max-request-bytes)");
}

Response WebhookEndpoint::Malformed(std::string_view reason) {
  return Plain(400, "400 malformed HTTP request: " + std::string(reason));
}

Response WebhookEndpoint::HeadTooLarge(std::size_t limit) {
  return Plain(431, "431 request line and headers larger than " + std::to_string(limit) + " bytes");
}

Response WebhookEndpoint::Handle(const RequestHead& head, const std::string& body) {
  if (auto early = AnswerWithoutReview(head, body)) return *std::move(early);
  return *Guarded(logger_, head, [&]() -> std::optional<Response> {
    const auto started = Clock::now();
    return Report(head, Review(body, lookup_), started);
  });
}

std::optional<Response> WebhookEndpoint::HandleWithoutWaiting(const RequestHead& head,
                                                              const std::string& body) {
  if (lookup_ == nullptr) return Handle(head, body);
  if (auto early = AnswerWithoutReview(head, body)) return early;
  return Guarded(logger_, head, [&]() -> std::optional<Response> {
    const auto started = Clock::now();
    const LookupWithoutWaiting lookup(*lookup_);
    Result<AdmissionReviewer::Reviewed> reviewed = Review(body, &lookup);
    if (lookup.gave_up()) return std::nullopt;  // dropped before it is counted or logged
    return Report(head, std::move(reviewed), started);
  });
}

std::optional<Response> WebhookEndpoint::AnswerWithoutReview(const RequestHead& head,
                                                             const std::string& body) const {
  if (auto refusal = Screen(head)) return refusal;
  if (head.path() == kHealthzPath) return Plain(200, "ok");
  if (body.size() > max_request_bytes_) return BodyTooLarge();
  return std::nullopt;
}

Result<AdmissionReviewer::Reviewed> WebhookEndpoint::Review(const std::string& body,
                                                            const ServiceAccountLookup* lookup) {
  const std::shared_ptr<const Config> config = config_.Current();
  std::unique_ptr<AdmissionReviewer> reviewer;
  {
    std::lock_guard<std::mutex> lock(reviewers_mutex_);
    if (!idle_reviewers_.empty()) {
      reviewer = std::move(idle_reviewers_.back());
      idle_reviewers_.pop_back();
    }
  }
  if (!reviewer) reviewer = std::make_unique<AdmissionReviewer>();
  Result<AdmissionReviewer::Reviewed> reviewed =
      reviewer->Review(*config, body, lookup, ReadablePastEnd(body));
  {
    std::lock_guard<std::mutex> lock(reviewers_mutex_);
    if (idle_reviewers_.size() < kMaxIdleReviewers) idle_reviewers_.push_back(std::move(reviewer));
  }
  return reviewed;
}

Response WebhookEndpoint::Report(const RequestHead& head,
                                 Result<AdmissionReviewer::Reviewed> reviewed,
                                 Clock::time_point started) {
  if (!reviewed.ok()) {
    logger_.LogPerRequest(LogLevel::kWarn, "invalid AdmissionReview",
                          {{"status", 400}, {"remote", head.remote}, {"error", reviewed.error()}});
    return Plain(400, "400 not a valid AdmissionReview: " + reviewed.error());
  }
  Response res;
  res.content_type = kJson;
  res.body = std::move(reviewed->response);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  const AdmissionRequest& request = reviewed->request;
  const AdmissionResult& result = reviewed->result;
  const Mutation& m = result.mutation;
  metrics_.ObserveAdmission(request.group, request.kind, request.operation, m.outcome, seconds);
  const LogLevel level = m.outcome == Outcome::kError ? LogLevel::kWarn : LogLevel::kInfo;
  if (logger_.Enabled(level)) {
    logger_.LogPerRequest(level, "admission",
                          {{"uid", request.uid},
                           {"kind", request.kind},
                           {"operation", request.operation},
                           {"namespace", result.ns},
                           {"name", result.object_name},
                           {"outcome", OutcomeName(m.outcome)},
                           {"reason", m.reason},
                           {"role", m.role_arn},
                           {"binding", m.binding},
                           {"patch_operations", m.patch.size()},
                           {"warnings", m.warnings.size()},
                           {"dry_run", request.dry_run},
                           {"duration_ms", seconds * 1e3}});
  }
  return res;
}

Response AnswerOperations(const OperationsState& state, const RequestHead& head) {
  const std::string_view path = head.path();
  if (path != kMetricsPath && path != kHealthzPath && path != kReadyzPath) {
    return Plain(404, "404 not found: " + std::string(path) +
                          " (this port serves /metrics, /healthz, /readyz)");
  }
  if ((head.method != "GET" && head.method != "HEAD") || head.has_body()) {
    return Plain(405,
                 "405 method " + std::string(head.method) + " not allowed on " + std::string(path) +
                     " (allowed: GET, HEAD)",
                 std::string(kGetOrHead));
  }
  if (path == kMetricsPath) {
    Response res;
    res.content_type = kPrometheusText;
    res.body = state.metrics != nullptr ? state.metrics->Render() : std::string();
    return res;
  }
  if (path == kHealthzPath) {
    if (state.healthy && !state.healthy()) return Plain(503, "503 a listener stopped");
    return Plain(200, "ok");
  }
  if (state.unready) {
    if (auto why = state.unready()) return Plain(503, "503 not ready: " + *why);
  }
  return Plain(200, "ok");
}

}  // namespace irsa::server
