#include "irsa/admission.h"

#include "irsa/constants.h"
#include "irsa/document.h"
#include "irsa/text.h"
#include "mutation_support.h"

namespace irsa {
namespace {

using nlohmann::json;

Status ReadString(const json& obj, std::string_view key, std::string_view path, bool required,
                  std::string& out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Status::Error(std::string(path) + ": required");
    return Status::Ok();
  }
  if (!it->is_string()) return Status::Error(std::string(path) + ": must be a string");
  out = it->get<std::string>();
  if (required && out.empty()) return Status::Error(std::string(path) + ": required");
  return Status::Ok();
}

// metadata.<field> of an object, if it is a string.
std::string MetadataString(const json& object, std::string_view field) {
  if (!object.is_object()) return {};
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  const auto value = metadata->find(field);
  return (value != metadata->end() && value->is_string()) ? value->get<std::string>()
                                                          : std::string();
}

bool IsCreateOrUpdate(const AdmissionRequest& r) {
  return r.operation == "CREATE" || r.operation == "UPDATE";
}

}  // namespace

Result<AdmissionRequest> DecodeAdmissionReview(std::string_view body) {
  json review;
  IRSA_ASSIGN_OR_RETURN(review, ParseJson(body));
  return DecodeParsedAdmissionReview(std::move(review));
}

Result<AdmissionRequest> DecodeParsedAdmissionReview(json review) {
  if (!review.is_object()) return Status::Error("body: must be an AdmissionReview object");
  AdmissionRequest r;
  if (auto s = ReadString(review, "apiVersion", "apiVersion", true, r.api_version); !s.ok())
    return s;
  if (r.api_version != kAdmissionV1 && r.api_version != kAdmissionV1beta1) {
    return Status::Error("apiVersion: \"" + r.api_version + "\" is not " +
                         std::string(kAdmissionV1) + " or " + std::string(kAdmissionV1beta1));
  }
  std::string kind;
  if (auto s = ReadString(review, "kind", "kind", true, kind); !s.ok()) return s;
  if (kind != kAdmissionReviewKind)
    return Status::Error("kind: \"" + kind + "\" is not AdmissionReview");

  const auto request = review.find("request");
  if (request == review.end() || request->is_null()) return Status::Error("request: required");
  if (!request->is_object()) return Status::Error("request: must be an object");
  if (auto s = ReadString(*request, "uid", "request.uid", true, r.uid); !s.ok()) return s;
  if (auto s = ReadString(*request, "operation", "request.operation", true, r.operation); !s.ok())
    return s;
  if (auto s = ReadString(*request, "subResource", "request.subResource", false, r.sub_resource);
      !s.ok())
    return s;
  if (auto s = ReadString(*request, "namespace", "request.namespace", false, r.ns); !s.ok())
    return s;
  if (auto s = ReadString(*request, "name", "request.name", false, r.name); !s.ok()) return s;

  const auto gvk = request->find("kind");
  if (gvk == request->end() || !gvk->is_object())
    return Status::Error("request.kind: must be an object");
  if (auto s = ReadString(*gvk, "group", "request.kind.group", false, r.group); !s.ok()) return s;
  if (auto s = ReadString(*gvk, "version", "request.kind.version", false, r.version); !s.ok())
    return s;
  if (auto s = ReadString(*gvk, "kind", "request.kind.kind", true, r.kind); !s.ok()) return s;

  if (const auto dry_run = request->find("dryRun");
      dry_run != request->end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return Status::Error("request.dryRun: must be true or false");
    r.dry_run = dry_run->get<bool>();
  }
  if (const auto object = request->find("object"); object != request->end()) {
    r.object = std::move(*object);  // the review is ours: no copy of the (large) object
  }
  return r;
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
  r.name = MetadataString(manifest, "name");
  r.ns = !ns.empty() ? std::string(ns) : MetadataString(manifest, "namespace");
  if (r.ns.empty()) r.ns = "default";
  r.object = std::move(manifest);
  return r;
}

AdmissionResult Admit(const Config& config, const AdmissionRequest& request,
                      const ServiceAccountLookup* lookup) {
  AdmissionResult result;
  result.object_name = MetadataString(request.object, "name");
  if (result.object_name.empty())
    result.object_name = MetadataString(request.object, "generateName");
  if (result.object_name.empty()) result.object_name = request.name;
  // request.namespace is where the object is created; metadata.namespace may be empty.
  result.ns = !request.ns.empty() ? request.ns : MetadataString(request.object, "namespace");
  if (result.ns.empty()) result.ns = "default";

  Mutation& m = result.mutation;
  const bool core = request.group.empty();
  Result<Mutation> outcome = Status::Ok();
  if (core && request.kind == "Pod" && request.operation == "CREATE" &&
      request.sub_resource.empty()) {
    if (request.object.is_null()) {
      outcome = Status::Error("request.object: required for a Pod CREATE");
    } else {
      outcome = MutatePod(config, request.object, result.ns, lookup);
    }
  } else if (core && request.kind == "ServiceAccount" && IsCreateOrUpdate(request) &&
             request.sub_resource.empty()) {
    outcome = request.object.is_null() ? Result<Mutation>(Status::Error("request.object: required"))
                                       : MutateServiceAccount(config, request.object, result.ns);
  } else if (request.group == kPerconaGroup && request.kind == kPerconaKind &&
             IsCreateOrUpdate(request) && request.sub_resource.empty()) {
    outcome = request.object.is_null()
                  ? Result<Mutation>(Status::Error("request.object: required"))
                  : CheckPerconaServerMongoDB(config, request.object, result.ns);
    if (outcome.ok()) outcome->patch = JsonPatch();  // warnings only, never a patch
  } else {
    m.outcome = Outcome::kSkipped;
    m.reason = "not handled: " + request.kind + " " + request.operation;
    return result;
  }
  if (outcome.ok()) {
    m = std::move(outcome).value();
  } else {
    m.outcome = Outcome::kError;
    m.reason = outcome.error();
    m.warnings.Add("irsa-webhook: " + request.kind + " not mutated: " + outcome.error());
  }
  return result;
}

std::string EncodeAdmissionResponse(const AdmissionRequest& request, const Mutation& mutation) {
  // Written directly: this runs on every admission, and the patch is already JSON text.
  std::string patch_base64;
  if (!mutation.patch.empty()) patch_base64 = Base64Encode(mutation.patch.Serialize());
  std::string out;
  out.reserve(128 + request.uid.size() + patch_base64.size());
  out += R"({"apiVersion":)";
  AppendJsonString(out, request.api_version);
  out += R"(,"kind":"AdmissionReview","response":{"uid":)";
  AppendJsonString(out, request.uid);
  out += R"(,"allowed":true)";
  if (!patch_base64.empty()) {
    out += R"(,"patchType":"JSONPatch","patch":")";
    out += patch_base64;
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
