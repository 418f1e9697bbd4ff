// AdmissionReviewer: one parse with simdjson for Pod CREATE, the nlohmann path for the rest.
#include <simdjson.h>

#include "irsa/admission.h"
#include "irsa/constants.h"
#include "pod_reader_simdjson.h"

namespace irsa {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// simdjson refuses documents nested deeper than this, which is below the nlohmann path's limit
// (kMaxNestingDepth), so whatever the fast path accepts the fallback would accept too.
constexpr std::size_t kFastPathMaxDepth = kMaxNestingDepth - 16;
// A parser keeps the buffers of the largest document it has seen; beyond this it is replaced
// once the review is done, so one huge (or hostile) request does not pin its memory in the
// reviewers the server keeps idle.
constexpr std::size_t kRetainedParserCapacity = 1 << 20;

bool Find(object obj, std::string_view key, element& out) {
  return internal::FindMember(obj, key, out);
}

bool FindString(object obj, std::string_view key, std::string_view& out) {
  element e;
  return Find(obj, key, e) && e.get_string().get(out) == simdjson::SUCCESS;
}

std::string MetadataNamespace(object pod) {
  element metadata_element;
  object metadata;
  std::string_view ns;
  if (Find(pod, "metadata", metadata_element) &&
      metadata_element.get_object().get(metadata) == simdjson::SUCCESS &&
      FindString(metadata, "namespace", ns)) {
    return std::string(ns);
  }
  return {};
}

}  // namespace

struct AdmissionReviewer::Parser {
  Parser() { Reset(); }
  void Reset() {
    dom = std::make_unique<simdjson::dom::parser>();
    // Without its depth limit the parser must not be used (see kFastPathMaxDepth).
    usable = dom->allocate(std::size_t{64} * 1024, kFastPathMaxDepth) == simdjson::SUCCESS;
  }
  std::unique_ptr<simdjson::dom::parser> dom;
  bool usable = false;
};

AdmissionReviewer::AdmissionReviewer() : parser_(std::make_unique<Parser>()) {}
AdmissionReviewer::~AdmissionReviewer() = default;

std::size_t AdmissionReviewer::parser_capacity() const {
  return parser_->usable ? parser_->dom->capacity() : 0;
}

Result<AdmissionReviewer::Reviewed> AdmissionReviewer::Review(const Config& config,
                                                              std::string_view body,
                                                              const ServiceAccountLookup* lookup) {
  // Runs after the result is built (it copies what it needs out of the parsed document).
  struct ReleaseOversized {
    Parser& parser;
    ~ReleaseOversized() {
      if (parser.dom->capacity() > kRetainedParserCapacity) parser.Reset();
    }
  } release{*parser_};
  Reviewed out;
  const auto fallback = [&]() -> Result<Reviewed> {
    auto request = DecodeAdmissionReview(body);
    if (!request.ok()) return request.status();
    out.result = Admit(config, *request, lookup);
    out.response = EncodeAdmissionResponse(*request, out.result.mutation);
    out.request = std::move(request).value();
    out.request.object = nullptr;
    out.fast_path = false;
    return std::move(out);
  };

  if (parser_->dom->capacity() > kRetainedParserCapacity || !parser_->usable) parser_->Reset();
  element root;
  if (!parser_->usable ||
      parser_->dom->parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS)
    return fallback();
  object review;
  element request_element;
  object request;
  element kind_element;
  object kind;
  element object_element;
  std::string_view api_version, review_kind, uid, operation, group, version, resource_kind,
      sub_resource, ns, name;
  if (root.get_object().get(review) != simdjson::SUCCESS ||
      !FindString(review, "apiVersion", api_version) ||
      (api_version != kAdmissionV1 && api_version != kAdmissionV1beta1) ||
      !FindString(review, "kind", review_kind) || review_kind != kAdmissionReviewKind ||
      !Find(review, "request", request_element) ||
      request_element.get_object().get(request) != simdjson::SUCCESS ||
      !FindString(request, "uid", uid) || uid.empty() ||
      !FindString(request, "operation", operation) || operation != "CREATE" ||
      !Find(request, "kind", kind_element) ||
      kind_element.get_object().get(kind) != simdjson::SUCCESS ||
      !FindString(kind, "kind", resource_kind) || resource_kind != "Pod" ||
      !Find(request, "object", object_element)) {
    return fallback();  // not a Pod CREATE, or something to report: the nlohmann path decides
  }
  // Optional envelope strings: absent is fine, another type is for the fallback to report.
  element e;
  const auto optional_string = [&](object obj, std::string_view key, std::string_view& value) {
    return !Find(obj, key, e) || e.get_string().get(value) == simdjson::SUCCESS;
  };
  bool dry_run = false;
  if (!optional_string(kind, "group", group) || !group.empty() ||
      !optional_string(kind, "version", version) ||
      !optional_string(request, "subResource", sub_resource) || !sub_resource.empty() ||
      !optional_string(request, "namespace", ns) || !optional_string(request, "name", name) ||
      (Find(request, "dryRun", e) && e.get_bool().get(dry_run) != simdjson::SUCCESS)) {
    return fallback();
  }
  object pod;
  if (object_element.get_object().get(pod) != simdjson::SUCCESS) return fallback();
  auto view = internal::ReadPod(object_element);
  if (!view.ok()) return fallback();  // malformed pods: the nlohmann path words the error

  AdmissionRequest& r = out.request;
  r.api_version = api_version;
  r.uid = uid;
  r.group = group;
  r.version = version;
  r.kind = resource_kind;
  r.sub_resource = sub_resource;
  r.operation = operation;
  r.ns = ns;
  r.name = name;
  r.dry_run = dry_run;
  AdmissionResult& result = out.result;
  result.object_name = std::string(!view->name.empty() ? view->name : view->generate_name);
  if (result.object_name.empty()) result.object_name = r.name;
  result.ns = !r.ns.empty() ? r.ns : MetadataNamespace(pod);
  if (result.ns.empty()) result.ns = "default";
  result.mutation = internal::MutatePodView(config, *view, result.ns, lookup);
  out.response = EncodeAdmissionResponse(r, result.mutation);
  out.fast_path = true;
  return out;
}

}  // namespace irsa
