#include "irsa/admission.h"

#include "admission_dom.h"
#include "irsa/constants.h"
#include "irsa/text.h"
#include "mutation_support.h"
#include "pod_view.h"

namespace irsa {
namespace {

using nlohmann::json;
using simdjson::dom::element;
using simdjson::dom::object;

// The response's fixed text around the echoed fields and the patch (about 110 bytes), with room
// for a few escapes and a short warning; longer warnings grow the buffer.
constexpr std::size_t kResponseEnvelopeBytes = 192;

template <std::size_t N>
Status ReadString(const internal::Members<N>& members, std::size_t key, std::string_view path,
                  bool required, std::string& out) {
  element value;
  if (!members.Find(key, value)) {
    if (required) return Status::Error(std::string(path) + ": required");
    return Status::Ok();
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS)
    return Status::Error(std::string(path) + ": must be a string");
  out = text;
  if (required && out.empty()) return Status::Error(std::string(path) + ": required");
  return Status::Ok();
}

// metadata.name, metadata.generateName and metadata.namespace of an object, where strings.
struct ObjectIdentity {
  std::string_view name;
  std::string_view generate_name;
  std::string_view ns;
};

ObjectIdentity IdentityOf(element value) {
  ObjectIdentity id;
  object obj;
  element metadata_element;
  object metadata;
  if (value.get_object().get(obj) != simdjson::SUCCESS ||
      !internal::FindMember(obj, "metadata", metadata_element) ||
      metadata_element.get_object().get(metadata) != simdjson::SUCCESS) {
    return id;
  }
  const internal::Members members(metadata, {"name", "generateName", "namespace"});
  const auto string_at = [&](std::size_t key) {
    element e;
    std::string_view text;
    return members.Find(key, e) && e.get_string().get(text) == simdjson::SUCCESS
               ? text
               : std::string_view();
  };
  id.name = string_at(0);
  id.generate_name = string_at(1);
  id.ns = string_at(2);
  return id;
}

// metadata.<field> of a manifest, if it is a string.
std::string ManifestMetadataString(const json& manifest, std::string_view field) {
  const auto metadata = manifest.find("metadata");
  if (metadata == manifest.end() || !metadata->is_object()) return {};
  const auto value = metadata->find(field);
  return (value != metadata->end() && value->is_string()) ? value->get<std::string>()
                                                          : std::string();
}

bool IsCreateOrUpdate(const AdmissionRequest& r) {
  return r.operation == "CREATE" || r.operation == "UPDATE";
}

// An object the rules could not read: allowed without a patch, with a warning saying why.
void SetUnreadable(Mutation& m, const AdmissionRequest& request, const std::string& error) {
  m = Mutation();
  m.outcome = Outcome::kError;
  m.reason = error;
  m.warnings.Add("irsa-webhook: " + request.kind + " not mutated: " + error);
}

}  // namespace

namespace internal {

Status DecodeEnvelope(element root, AdmissionRequest& r, std::optional<element>& object_out) {
  object review;
  if (root.get_object().get(review) != simdjson::SUCCESS)
    return Status::Error("body: must be an AdmissionReview object");
  enum { kApiVersion, kKind, kRequest };
  const Members review_members(review, {"apiVersion", "kind", "request"});
  if (auto s = ReadString(review_members, kApiVersion, "apiVersion", true, r.api_version); !s.ok())
    return s;
  if (r.api_version != kAdmissionV1 && r.api_version != kAdmissionV1beta1) {
    return Status::Error("apiVersion: \"" + r.api_version + "\" is not " +
                         std::string(kAdmissionV1) + " or " + std::string(kAdmissionV1beta1));
  }
  std::string kind;
  if (auto s = ReadString(review_members, kKind, "kind", true, kind); !s.ok()) return s;
  if (kind != kAdmissionReviewKind)
    return Status::Error("kind: \"" + kind + "\" is not AdmissionReview");

  element request_element;
  if (!review_members.Find(kRequest, request_element)) return Status::Error("request: required");
  object request;
  if (request_element.get_object().get(request) != simdjson::SUCCESS)
    return Status::Error("request: must be an object");
  enum { kUid, kOperation, kSubResource, kNamespace, kName, kGvk, kDryRun, kObject };
  const Members members(request, {"uid", "operation", "subResource", "namespace", "name", "kind",
                                  "dryRun", "object"});
  if (auto s = ReadString(members, kUid, "request.uid", true, r.uid); !s.ok()) return s;
  if (auto s = ReadString(members, kOperation, "request.operation", true, r.operation); !s.ok())
    return s;
  if (auto s = ReadString(members, kSubResource, "request.subResource", false, r.sub_resource);
      !s.ok())
    return s;
  if (auto s = ReadString(members, kNamespace, "request.namespace", false, r.ns); !s.ok()) return s;
  if (auto s = ReadString(members, kName, "request.name", false, r.name); !s.ok()) return s;

  element gvk_element;
  object gvk;
  if (!members.Find(kGvk, gvk_element) || gvk_element.get_object().get(gvk) != simdjson::SUCCESS)
    return Status::Error("request.kind: must be an object");
  enum { kGroup, kVersion, kResourceKind };
  const Members gvk_members(gvk, {"group", "version", "kind"});
  if (auto s = ReadString(gvk_members, kGroup, "request.kind.group", false, r.group); !s.ok())
    return s;
  if (auto s = ReadString(gvk_members, kVersion, "request.kind.version", false, r.version); !s.ok())
    return s;
  if (auto s = ReadString(gvk_members, kResourceKind, "request.kind.kind", true, r.kind); !s.ok())
    return s;

  if (element dry_run; members.Find(kDryRun, dry_run)) {
    if (dry_run.get_bool().get(r.dry_run) != simdjson::SUCCESS)
      return Status::Error("request.dryRun: must be true or false");
  }
  // A null object is absent: the rules say so for the kinds that need one.
  object_out.reset();
  if (element e; members.Find(kObject, e)) object_out = e;
  return Status::Ok();
}

AdmissionResult AdmitObject(const Config& config, const AdmissionRequest& request,
                            std::optional<element> object, const ServiceAccountLookup* lookup) {
  if (object && object->is_null()) object.reset();
  AdmissionResult result;
  const ObjectIdentity id = object ? IdentityOf(*object) : ObjectIdentity();
  result.object_name = !id.name.empty() ? id.name : id.generate_name;
  if (result.object_name.empty()) result.object_name = request.name;
  // request.namespace is where the object is created; metadata.namespace may be empty.
  result.ns = !request.ns.empty() ? std::string_view(request.ns) : id.ns;
  if (result.ns.empty()) result.ns = "default";

  Mutation& m = result.mutation;
  const bool core = request.group.empty();
  Result<Mutation> outcome = Status::Ok();
  if (core && request.kind == "Pod" && request.operation == "CREATE" &&
      request.sub_resource.empty()) {
    if (!object) {
      outcome = Status::Error("request.object: required for a Pod CREATE");
    } else if (auto view = ReadPod(*object); !view.ok()) {
      outcome = view.status();
    } else {
      outcome = MutatePodView(config, *view, result.ns, lookup);
    }
  } else if (core && request.kind == "ServiceAccount" && IsCreateOrUpdate(request) &&
             request.sub_resource.empty()) {
    outcome = !object ? Result<Mutation>(Status::Error("request.object: required"))
                      : MutateServiceAccount(config, ToJson(*object), result.ns);
  } else if (request.group == kPerconaGroup && request.kind == kPerconaKind &&
             IsCreateOrUpdate(request) && request.sub_resource.empty()) {
    outcome = !object ? Result<Mutation>(Status::Error("request.object: required"))
                      : CheckPerconaServerMongoDB(config, ToJson(*object), result.ns);
    if (outcome.ok()) outcome->patch = JsonPatch();  // warnings only, never a patch
  } else {
    m.outcome = Outcome::kSkipped;
    m.reason = "not handled: " + request.kind + " " + request.operation;
    return result;
  }
  if (outcome.ok()) {
    m = std::move(outcome).value();
  } else {
    SetUnreadable(m, request, outcome.error());
  }
  return result;
}

}  // namespace internal

namespace {

// The request of a parsed review, its object converted to nlohmann::json for the caller.
Result<AdmissionRequest> RequestOf(const Result<element>& root) {
  if (!root.ok()) return root.status();
  AdmissionRequest r;
  std::optional<element> object;
  if (auto s = internal::DecodeEnvelope(*root, r, object); !s.ok()) return s;
  if (object) r.object = internal::ToJson(*object);
  return r;
}

}  // namespace

Result<AdmissionRequest> DecodeAdmissionReview(std::string_view body) {
  internal::JsonDom dom;
  return RequestOf(dom.Parse(body));
}

Result<AdmissionRequest> DecodeParsedAdmissionReview(const json& review) {
  internal::JsonDom dom;
  return RequestOf(internal::ParseJsonValue(dom, review));
}

Result<AdmissionRequest> RequestFromManifest(json manifest, std::string_view ns) {
  if (!manifest.is_object()) return Status::Error("input must be a Kubernetes object (a mapping)");
  const std::string kind =
      manifest.value("kind", json()).is_string() ? manifest["kind"].get<std::string>() : "";
  const std::string api_version = manifest.value("apiVersion", json()).is_string()
                                      ? manifest["apiVersion"].get<std::string>()
                                      : "";
  if (kind.empty()) {
    return Status::Error(
        "input has no kind (expected Pod, ServiceAccount, PerconaServerMongoDB or "
        "AdmissionReview)");
  }
  AdmissionRequest r;
  r.api_version = std::string(kAdmissionV1);
  r.uid = "00000000-0000-0000-0000-000000000000";
  r.kind = kind;
  r.operation = "CREATE";
  const auto slash = api_version.find('/');
  r.group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  r.version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  const bool known = (r.group.empty() && (kind == "Pod" || kind == "ServiceAccount")) ||
                     (r.group == kPerconaGroup && kind == kPerconaKind);
  if (!known) {
    return Status::Error(
        "unknown kind " + (api_version.empty() ? "" : api_version + "/") + kind +
        " (expected v1 Pod, v1 ServiceAccount, psmdb.percona.com PerconaServerMongoDB or an "
        "AdmissionReview)");
  }
  r.name = ManifestMetadataString(manifest, "name");
  r.ns = !ns.empty() ? std::string(ns) : ManifestMetadataString(manifest, "namespace");
  if (r.ns.empty()) r.ns = "default";
  r.object = std::move(manifest);
  return r;
}

AdmissionResult Admit(const Config& config, const AdmissionRequest& request,
                      const ServiceAccountLookup* lookup) {
  if (request.object.is_null()) return internal::AdmitObject(config, request, std::nullopt, lookup);
  internal::JsonDom dom;
  auto object = internal::ParseJsonValue(dom, request.object);
  if (object.ok()) return internal::AdmitObject(config, request, *object, lookup);
  // Reached only by a value nested deeper than kMaxNestingDepth (parsed input never is).
  AdmissionResult result;
  result.ns = request.ns.empty() ? "default" : request.ns;
  result.object_name = request.name;
  SetUnreadable(result.mutation, request, "request.object: " + object.error());
  return result;
}

std::string EncodeAdmissionResponse(const AdmissionRequest& request, const Mutation& mutation) {
  // Written directly into one buffer: this runs on every admission, and the patch is already
  // JSON text.
  const std::string_view patch =
      mutation.patch.empty() ? std::string_view() : mutation.patch.text();
  std::string out;
  out.reserve(kResponseEnvelopeBytes + request.api_version.size() + request.uid.size() +
              (patch.size() + 2) / 3 * 4);
  out += R"({"apiVersion":)";
  AppendJsonString(out, request.api_version);
  out += R"(,"kind":"AdmissionReview","response":{"uid":)";
  AppendJsonString(out, request.uid);
  out += R"(,"allowed":true)";
  if (!patch.empty()) {
    out += R"(,"patchType":"JSONPatch","patch":")";
    AppendBase64(out, patch);
    out.push_back('"');
  }
  if (!mutation.warnings.empty()) {
    out += R"(,"warnings":[)";
    for (std::size_t i = 0; i < mutation.warnings.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(out, mutation.warnings[i]);
    }
    out.push_back(']');
  }
  out += "}}";
  return out;
}

json AdmissionResponseJson(const AdmissionRequest& request, const Mutation& mutation) {
  return json::parse(EncodeAdmissionResponse(request, mutation));
}

std::optional<ServiceAccountInfo> StaticServiceAccountLookup::Find(std::string_view ns,
                                                                   std::string_view name) const {
  for (const auto& sa : accounts_) {
    if (sa.ns == ns && sa.name == name) return sa;
  }
  return std::nullopt;
}

}  // namespace irsa
