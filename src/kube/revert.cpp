#include "kube/revert.h"

#include <set>
#include <vector>

#include "irsa/constants.h"

namespace irsa::kube {
namespace {

using nlohmann::json;

std::string AnnotationOf(const json& sa, const std::string& key) {
  const json* annotations = nullptr;
  if (auto m = sa.find("metadata"); m != sa.end() && m->is_object()) {
    if (auto a = m->find("annotations"); a != m->end() && a->is_object()) annotations = &*a;
  }
  if (annotations == nullptr) return "";
  const auto v = annotations->find(key);
  return v != annotations->end() && v->is_string() ? v->get<std::string>() : "";
}

// The namespaces to list: the bindings', or {""} (cluster-wide) for "*" or no bindings.
std::vector<std::string> Scopes(const Config& config) {
  std::set<std::string> namespaces;
  for (const auto& b : config.bindings) {
    for (const auto& ns : b.namespaces) {
      if (ns == "*") return {""};
      namespaces.insert(ns);
    }
  }
  if (namespaces.empty()) return {""};
  return {namespaces.begin(), namespaces.end()};
}

}  // namespace

ReconcileReport Revert(const Config& config, const KubeClient& client,
                       const RevertOptions& options) {
  ReconcileReport report;
  report.dry_run = options.dry_run;
  const std::string marker(kManagedRoleArnAnnotation);
  const std::string& role_key = config.keys.role_arn;
  const auto add = [&](std::string ns, std::string name, std::string_view res,
                       std::string message) {
    ReconcileAction action;
    action.kind = "ServiceAccount";
    action.ns = std::move(ns);
    action.name = std::move(name);
    action.action = "revert";
    action.result = std::string(res);
    action.message = std::move(message);
    report.actions.push_back(std::move(action));
  };
  for (const auto& scope : Scopes(config)) {
    std::vector<json> marked;
    auto listed = client.List(ResourcePath("v1", "serviceaccounts", scope), [&](json&& sa) {
      if (!AnnotationOf(sa, marker).empty()) marked.push_back(std::move(sa));
    });
    if (!listed.ok()) {
      add(scope.empty() ? "*" : scope, "", result::kFailed, listed.error());
      continue;
    }
    for (const auto& sa : marked) {
      const std::string ns = sa["metadata"].value("namespace", "");
      const std::string name = sa["metadata"].value("name", "");
      const std::string ours = AnnotationOf(sa, marker);
      const std::string current = AnnotationOf(sa, role_key);
      const bool unchanged = current == ours;
      json annotations = {{marker, nullptr}};
      if (unchanged) annotations[role_key] = nullptr;
      const std::string what =
          unchanged ? "removed " + role_key + "=" + ours
                    : (current.empty() ? role_key + " already gone"
                                       : "kept " + role_key + "=" + current + " (changed after " +
                                             ours + " was set)") +
                          "; removed " + marker;
      if (options.dry_run) {
        add(ns, name, unchanged ? result::kWouldRevert : result::kWouldKeepChanged, what);
        continue;
      }
      // Conditional on what was read: a concurrent change gets 409 instead of being undone.
      json patch = {{"metadata", {{"annotations", annotations}}}};
      if (const auto rv = sa["metadata"].value("resourceVersion", ""); !rv.empty())
        patch["metadata"]["resourceVersion"] = rv;
      auto patched =
          client.Patch(ResourcePath("v1", "serviceaccounts", ns, name), patch, PatchType::kMerge);
      if (!patched.ok()) {
        add(ns, name, result::kFailed, patched.error());
        continue;
      }
      add(ns, name, unchanged ? result::kReverted : result::kKeptChanged, what);
    }
  }
  return report;
}

}  // namespace irsa::kube
