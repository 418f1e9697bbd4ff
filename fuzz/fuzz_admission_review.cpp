// Differential fuzzing of the admission path: for any bytes, the server's AdmissionReviewer and
// the path `mutate` takes (DecodeAdmissionReview + Admit + Encode) must give the same answer,
// never crash, and every response must be valid JSON with allowed: true. Both share the parser,
// the envelope validation and the pod reader; what differs is that `mutate`'s path carries
// request.object through nlohmann::json and its JSON text back to the reader, which must change
// nothing the rules see (duplicate keys, nulls, numbers, escapes, nesting). The reviewer also
// reads a padded copy in place, as `serve` does, and must answer it the same.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "irsa/admission.h"
#include "irsa/document.h"

namespace {

const irsa::Config& FuzzConfig() {
  static const irsa::Config config = irsa::fuzzing::ConfigFromYaml(R"(
region: us-east-1
stsRegionalEndpoints: true
roleSessionName: true
bindings:
  - {name: psmdb, roleArn: "arn:aws:iam::111122223333:role/psmdb", namespaces: [psmdb], serviceAccounts: [default],
     preset: percona-server-mongodb}
  - {name: sel, roleArn: "arn:aws:iam::111122223333:role/sel", namespaces: ["*"], serviceAccounts: [app],
     podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [canary]}]}, containers: [main]}
)");
  return config;
}

const irsa::ServiceAccountLookup& FuzzServiceAccounts() {
  static const irsa::StaticServiceAccountLookup lookup = [] {
    irsa::StaticServiceAccountLookup l;
    l.Add({"apps",
           "reader",
           {{"eks.amazonaws.com/role-arn", "arn:aws:iam::444455556666:role/reader"},
            {"eks.amazonaws.com/token-expiration", "700"}}});
    return l;
  }();
  return lookup;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  static irsa::AdmissionReviewer reviewer;
  auto fast = reviewer.Review(FuzzConfig(), body, &FuzzServiceAccounts());
  auto request = irsa::DecodeAdmissionReview(body);
  if (fast.ok() != request.ok())
    irsa::fuzzing::Fail("one path accepted the body, the other did not", body);
  // As serve reviews a body: read in place, with spare capacity after it.
  std::string padded(body);
  padded.reserve(body.size() + irsa::kReviewBodyPadding);
  auto in_place =
      reviewer.Review(FuzzConfig(), padded, &FuzzServiceAccounts(), irsa::ReadablePastEnd(padded));
  if (in_place.ok() != fast.ok() ||
      (fast.ok() ? in_place->response != fast->response : in_place.error() != fast.error()))
    irsa::fuzzing::Fail("the body read in place was answered differently", body);
  if (!request.ok()) {
    if (fast.error() != request.error()) irsa::fuzzing::Fail("different errors", body);
    return 0;
  }
  const std::string reference = irsa::EncodeAdmissionResponse(
      *request, irsa::Admit(FuzzConfig(), *request, &FuzzServiceAccounts()).mutation);
  if (fast->response != reference)
    irsa::fuzzing::Fail("different responses:\n" + fast->response + "\n" + reference, body);
  auto parsed = irsa::ParseJson(reference);
  if (!parsed.ok() || (*parsed)["response"]["allowed"] != true)
    irsa::fuzzing::Fail("response is not allowed JSON", body);
  return 0;
}
