// The AdmissionReview protocol (docs/reference.md section 6): decode a request, route it to the
// mutation rules, encode the response. `serve` runs AdmissionReviewer::Review on the body;
// `irsa-webhook mutate` runs DecodeParsedAdmissionReview (or RequestFromManifest) and Admit.
// Both parse with the same reader (simdjson), validate the envelope with the same function and
// read a pod with the same pod reader, so the offline preview is exactly what the cluster gets.
//
// Owns: envelope validation (errors here are transport errors: HTTP 400), kind/operation
// routing, the response envelope (apiVersion/kind/uid echo, base64 JSONPatch, warnings).
// Never: denies (allowed is always true), has side effects (dryRun gets the same answer), or
// logs. Performs I/O only through the ServiceAccountLookup it is given.
// Thread-safety: the functions are pure and safe from any number of threads; an
// AdmissionReviewer keeps buffers and is used by one thread at a time.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "irsa/config.h"
#include "irsa/constants.h"
#include "irsa/mutation.h"
#include "irsa/service_account.h"
#include "irsa/status.h"

namespace irsa {

struct AdmissionRequest {
  std::string api_version;  // of the review; echoed in the response
  std::string uid;
  std::string group;    // request.kind.group ("" for core)
  std::string version;  // request.kind.version
  std::string kind;     // request.kind.kind
  std::string sub_resource;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string ns;         // request.namespace
  std::string name;       // request.name
  bool dry_run = false;
  nlohmann::json object;  // request.object; null when absent (DELETE)
};

// Parses and validates an AdmissionReview (admission.k8s.io/v1 or v1beta1). The error message
// is meant for an HTTP 400 body. The parsed form is validated as its JSON text would be.
Result<AdmissionRequest> DecodeAdmissionReview(std::string_view body);
Result<AdmissionRequest> DecodeParsedAdmissionReview(const nlohmann::json& review);

// Wraps a bare Pod / ServiceAccount / PerconaServerMongoDB manifest as the CREATE request the
// API server would send (`mutate -f pod.yaml`). Namespace: `ns` if non-empty, else
// metadata.namespace, else "default". Other kinds are an error naming the kinds accepted.
Result<AdmissionRequest> RequestFromManifest(nlohmann::json manifest, std::string_view ns);

struct AdmissionResult {
  Mutation mutation;        // outcome kError: the object was unreadable (reason says why)
  std::string ns;           // the namespace the rules used
  std::string object_name;  // metadata.name, else metadata.generateName, else request.name
};

// Applies the rules of docs/reference.md sections 4-6 to one request. `lookup` may be nullptr
// (config only). request.object is read as its JSON text would be (the pod reader is the one
// AdmissionReviewer uses).
AdmissionResult Admit(const Config& config, const AdmissionRequest& request,
                      const ServiceAccountLookup* lookup);

// The AdmissionReview response, as JSON value and as the bytes `serve` sends.
nlohmann::json AdmissionResponseJson(const AdmissionRequest& request, const Mutation& mutation);
std::string EncodeAdmissionResponse(const AdmissionRequest& request, const Mutation& mutation);

// The bytes after `s`'s end that are part of its allocation: with at least kReviewBodyPadding
// (irsa/constants.h), AdmissionReviewer::Review parses `s` in place.
inline std::size_t ReadablePastEnd(const std::string& s) { return s.capacity() - s.size(); }

// The server's path: AdmissionReview bytes in, response bytes out, parsed once: the same
// envelope validation and routing as DecodeAdmissionReview + Admit, on the request's own parse
// (a pod is read straight from it; a ServiceAccount or PerconaServerMongoDB is converted to
// nlohmann::json for its rules). tests/core/review_parity_test.cpp runs every golden case
// through both, and fuzz/fuzz_admission_review.cpp compares them on arbitrary input.
// Thread-safety: not thread-safe; keep one per thread (it reuses the parser's buffers).
class AdmissionReviewer {
 public:
  struct Reviewed {
    std::string response;      // the AdmissionReview response body
    AdmissionRequest request;  // envelope fields; `object` is left null
    AdmissionResult result;
  };

  AdmissionReviewer();
  ~AdmissionReviewer();
  AdmissionReviewer(const AdmissionReviewer&) = delete;
  AdmissionReviewer& operator=(const AdmissionReviewer&) = delete;

  // Error: the body is not an acceptable AdmissionReview (HTTP 400, message for the body).
  // Buffers grown for a body over 1 MiB are released before it returns, so an idle reviewer
  // (servers keep a few) never pins the memory of one huge request. `readable_past_end`: bytes
  // after `body` that may be read (never written): with at least kReviewBodyPadding, the body is
  // parsed where it lies instead of being copied first (ReadablePastEnd gives a string's).
  Result<Reviewed> Review(const Config& config, std::string_view body,
                          const ServiceAccountLookup* lookup, std::size_t readable_past_end = 0);

  // Bytes of input the parser's buffers are sized for now (for tests).
  std::size_t parser_capacity() const;

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// A fixed set of ServiceAccounts: `mutate --service-account` and tests.
class StaticServiceAccountLookup final : public ServiceAccountLookup {
 public:
  void Add(ServiceAccountInfo sa) { accounts_.push_back(std::move(sa)); }
  std::optional<ServiceAccountInfo> Find(std::string_view ns, std::string_view name) const override;

 private:
  std::vector<ServiceAccountInfo> accounts_;
};

}  // namespace irsa
