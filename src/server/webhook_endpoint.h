// What the two ports answer, as functions of the request: the webhook port's POST /mutate and
// GET /healthz (docs/reference.md sections 5 and 6), and the operations port's /metrics,
// /healthz and /readyz. The seam between the transport and the rules, tested without sockets.
//
// Owns: every check an HTTP request gets before the rules run, each with its status and an
// actionable message: 404 unknown path, 405 wrong method (with Allow), 411 a POST without a
// length, 413 over --max-request-bytes, 415 not JSON or a compressed body, 400 a malformed
// Content-Length or a body that is not an AdmissionReview, 501 a transfer coding other than
// chunked; the review itself (through a pool of AdmissionReviewers), the admission metrics and
// the admission log line.
// Never: touches a socket, reads the body itself, decides when a connection ends or counts
// HTTP responses (the transport does, once written), or logs bodies.
// Thread-safety: all methods from any number of threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_message.h"
#include "irsa/admission.h"
#include "irsa/service_account.h"
#include "webhook_handler.h"

namespace irsa::server {

class ConfigStore;
class Logger;
class Metrics;

class WebhookEndpoint : public WebhookHandler {
 public:
  WebhookEndpoint(std::size_t max_request_bytes, const ConfigStore& config,
                  const ServiceAccountLookup* lookup, Metrics& metrics, Logger& logger);
  ~WebhookEndpoint() override;
  WebhookEndpoint(const WebhookEndpoint&) = delete;
  WebhookEndpoint& operator=(const WebhookEndpoint&) = delete;

  std::optional<Response> Screen(const RequestHead& head) const override;
  Response Handle(const RequestHead& head, const std::string& body) override;
  Response BodyTooLarge() const override;
  // The request could not be parsed as HTTP/1.1 (`reason` says where).
  static Response Malformed(std::string_view reason);
  // The request line and headers exceeded `limit` bytes.
  static Response HeadTooLarge(std::size_t limit);

  std::size_t max_request_bytes() const override { return max_request_bytes_; }
  // Reviews with the ServiceAccounts the lookup holds now; nullopt when one it needs would take
  // a GET (a cache miss).
  std::optional<Response> HandleWithoutWaiting(const RequestHead& head,
                                               const std::string& body) override;

 private:
  Response Refuse(const RequestHead& head, int status, std::string message,
                  std::string allow = {}) const;
  using Clock = std::chrono::steady_clock;
  // The answer when the request needs no review (refused, /healthz, a body over the limit).
  std::optional<Response> AnswerWithoutReview(const RequestHead& head,
                                              const std::string& body) const;
  // The review of `body` by a pooled AdmissionReviewer, with `lookup` for the ServiceAccounts;
  // counts and logs nothing.
  Result<AdmissionReviewer::Reviewed> Review(const std::string& body,
                                             const ServiceAccountLookup* lookup);
  // Counts, logs and answers a review that started at `started` (400 when it failed).
  Response Report(const RequestHead& head, Result<AdmissionReviewer::Reviewed> reviewed,
                  Clock::time_point started);

  std::size_t max_request_bytes_;
  const ConfigStore& config_;
  const ServiceAccountLookup* lookup_;
  Metrics& metrics_;
  Logger& logger_;
  // AdmissionReviewers (each keeps a parser's buffers) for the reviews running at this moment.
  std::mutex reviewers_mutex_;
  std::vector<std::unique_ptr<AdmissionReviewer>> idle_reviewers_;
};

// The plain operations port: GET/HEAD /metrics, /healthz, /readyz.
struct OperationsState {
  const Metrics* metrics = nullptr;
  std::function<bool()> healthy;                        // false: a listener stopped
  std::function<std::optional<std::string>()> unready;  // why /readyz fails; nullopt: ready
};

// The answer of the operations port to a head (it takes no bodies: one is a 405).
Response AnswerOperations(const OperationsState& state, const RequestHead& head);

}  // namespace irsa::server
