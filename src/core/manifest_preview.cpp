#include "irsa/manifest_preview.h"

#include "irsa/constants.h"
#include "irsa/text.h"

namespace irsa {
namespace {

using nlohmann::json;

std::string StringAt(const json& object, std::string_view key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string GroupOf(std::string_view api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string()
                                         : std::string(api_version.substr(0, slash));
}

// The pod a workload's controller creates from `template_`: what the API server then sends to
// the webhook (before scheduling; the name comes from generateName or the controller).
json PodFromTemplate(const json& template_, const std::string& ns, const std::string& owner) {
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", json::object()}};
  if (template_.contains("metadata") && template_["metadata"].is_object())
    pod["metadata"] = template_["metadata"];
  pod["metadata"]["namespace"] = ns;
  if (!pod["metadata"].contains("name") && !pod["metadata"].contains("generateName"))
    pod["metadata"]["generateName"] = owner + "-";
  if (template_.contains("spec")) pod["spec"] = template_["spec"];
  return pod;
}

}  // namespace

std::string PodTemplatePath(std::string_view api_version, std::string_view kind) {
  const std::string group = GroupOf(api_version);
  if (group == "apps" && (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
                          kind == "ReplicaSet")) {
    return "/spec/template";
  }
  if (group == "batch" && kind == "Job") return "/spec/template";
  if (group == "batch" && kind == "CronJob") return "/spec/jobTemplate/spec/template";
  return {};
}

Result<ObjectPreview> PreviewObject(const Config& config, const json& object, std::string_view ns,
                                    const ServiceAccountLookup* lookup) {
  if (!object.is_object()) return Status::Error("input must be a Kubernetes object (a mapping)");
  ObjectPreview p;
  p.kind = StringAt(object, "kind");
  const json metadata = object.value("metadata", json::object());
  p.name = StringAt(metadata, "name");
  if (p.name.empty()) p.name = StringAt(metadata, "generateName");
  p.ns = !ns.empty() ? std::string(ns) : StringAt(metadata, "namespace");
  if (p.ns.empty()) p.ns = "default";
  const std::string api_version = StringAt(object, "apiVersion");
  const std::string template_path = PodTemplatePath(api_version, p.kind);
  if (template_path.empty()) {
    auto request = RequestFromManifest(object, ns);
    if (!request.ok() && request.error().rfind("unknown kind ", 0) == 0) {
      return Status::Error("unknown kind " +
                           (api_version.empty() ? p.kind : api_version + "/" + p.kind) +
                           " (expected a Pod, ServiceAccount or PerconaServerMongoDB, a workload: "
                           "apps/v1 Deployment, StatefulSet, DaemonSet, ReplicaSet, batch/v1 Job, "
                           "CronJob, a List of them, or an AdmissionReview)");
    }
    if (!request.ok()) return request.status();
    p.request = std::move(request).value();
  } else {
    const json::json_pointer pointer(template_path);
    if (!object.contains(pointer) || !object.at(pointer).is_object()) {
      return Status::Error(p.kind + " " + p.ns + "/" + p.name + ": no pod template at " +
                           template_path);
    }
    auto request = RequestFromManifest(PodFromTemplate(object.at(pointer), p.ns, p.name), p.ns);
    if (!request.ok()) return request.status();
    p.request = std::move(request).value();
    p.pod_template = true;
  }
  p.result = Admit(config, p.request, lookup);
  p.ns = p.result.ns;
  p.patch = p.result.mutation.patch.operations();
  if (p.pod_template) {
    // The pod's paths (/spec/..., /metadata/...) are the template's.
    for (auto& op : p.patch) op["path"] = template_path + op["path"].get<std::string>();
  }
  p.mutated = object;
  if (!p.patch.empty()) {
    try {
      p.mutated = object.patch(p.patch);
    } catch (const json::exception& e) {
      return Status::Error("internal error: the patch does not apply: " + std::string(e.what()));
    }
  }
  return p;
}

bool IsList(const json& document) {
  if (!document.is_object()) return false;
  const std::string kind = StringAt(document, "kind");
  const auto items = document.find("items");
  return items != document.end() && items->is_array() && kind.size() >= 4 &&
         kind.compare(kind.size() - 4, 4, "List") == 0;
}

std::vector<json> ObjectsOf(const std::vector<json>& documents) {
  std::vector<json> objects;
  for (const auto& document : documents) {
    if (IsList(document)) {
      for (const auto& item : document["items"]) objects.push_back(item);
    } else {
      objects.push_back(document);
    }
  }
  return objects;
}

std::string PreviewSummary(const ObjectPreview& p) {
  const Mutation& m = p.result.mutation;
  std::string line = p.kind + " " + p.ns + "/" + p.name;
  if (p.pod_template) line += " (pod template)";
  line += ": " + std::string(OutcomeName(m.outcome)) + " (" + m.reason + ")";
  if (!m.role_arn.empty()) line += ", role " + m.role_arn;
  if (!m.binding.empty()) line += ", binding " + Quote(m.binding);
  return line;
}

}  // namespace irsa
