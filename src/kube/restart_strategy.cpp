#include "kube/restart_strategy.h"

namespace irsa::kube {
namespace {

using nlohmann::json;

const json* Member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringAt(const json& object, std::initializer_list<std::string_view> path) {
  const json* at = &object;
  for (const auto key : path) {
    at = Member(*at, key);
    if (at == nullptr) return {};
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

// The update strategy type: StatefulSet and DaemonSet spec.updateStrategy.type, Deployment
// spec.strategy.type. Empty means the API default (RollingUpdate).
std::string StrategyType(std::string_view kind, const json& workload) {
  if (kind == "Deployment") return StringAt(workload, {"spec", "strategy", "type"});
  return StringAt(workload, {"spec", "updateStrategy", "type"});
}

std::string ControllerToken(std::string_view kind) {
  if (kind == "Deployment") return std::string(restarter::kDeploymentController);
  if (kind == "DaemonSet") return std::string(restarter::kDaemonSetController);
  return std::string(restarter::kStatefulSetController);
}

}  // namespace

std::optional<std::string> PerconaController(const json& workload) {
  const json* metadata = Member(workload, "metadata");
  const json* owners = metadata ? Member(*metadata, "ownerReferences") : nullptr;
  if (owners == nullptr || !owners->is_array()) return std::nullopt;
  for (const auto& owner : *owners) {
    const json* controller = Member(owner, "controller");
    if (controller == nullptr || !controller->is_boolean() || !controller->get<bool>()) continue;
    const std::string api_version = StringAt(owner, {"apiVersion"});
    if (StringAt(owner, {"kind"}) != kPerconaClusterKind ||
        api_version.rfind("psmdb.percona.com/", 0) != 0) {
      return std::nullopt;
    }
    return StringAt(owner, {"name"});
  }
  return std::nullopt;
}

bool NeedsPerconaCluster(std::string_view kind, const json& workload) {
  return kind == "StatefulSet" && StrategyType(kind, workload) == kOnDeleteStrategy &&
         PerconaController(workload).has_value();
}

RestartPlan PlanRestart(std::string_view kind, const json& workload, const json* percona_cluster) {
  const std::string strategy = StrategyType(kind, workload);
  if (strategy != kOnDeleteStrategy) {
    return {RestartPath::kController, ControllerToken(kind),
            "updateStrategy " + (strategy.empty() ? std::string("RollingUpdate") : strategy)};
  }
  if (!NeedsPerconaCluster(kind, workload)) {
    return {RestartPath::kOnDelete, "", "updateStrategy OnDelete"};
  }
  const std::string cluster = *PerconaController(workload);
  if (percona_cluster == nullptr) {
    return {RestartPath::kOnDelete, "",
            "updateStrategy OnDelete, and its PerconaServerMongoDB " + cluster +
                " does not exist to restart the pods"};
  }
  // The operator refuses SmartUpdate on unmanaged clusters (psmdb_defaults.go).
  const json* spec = Member(*percona_cluster, "spec");
  const json* unmanaged = spec ? Member(*spec, "unmanaged") : nullptr;
  if (unmanaged != nullptr && unmanaged->is_boolean() && unmanaged->get<bool>()) {
    return {RestartPath::kOnDelete, "",
            "updateStrategy OnDelete, and PerconaServerMongoDB " + cluster +
                " is unmanaged (the operator restarts nothing)"};
  }
  std::string cluster_strategy = StringAt(*percona_cluster, {"spec", "updateStrategy"});
  if (cluster_strategy.empty()) cluster_strategy = std::string(kSmartUpdate);  // operator default
  if (cluster_strategy == kSmartUpdate) {
    return {RestartPath::kPerconaSmartUpdate, std::string(restarter::kPerconaSmartUpdate),
            "updateStrategy OnDelete, PerconaServerMongoDB " + cluster +
                " has updateStrategy SmartUpdate"};
  }
  return {RestartPath::kOnDelete, "",
          "updateStrategy OnDelete, PerconaServerMongoDB " + cluster + " has updateStrategy " +
              cluster_strategy};
}

std::string RestarterText(std::string_view restarted_by) {
  if (restarted_by == restarter::kDeploymentController) return "the Deployment controller";
  if (restarted_by == restarter::kStatefulSetController) return "the StatefulSet controller";
  if (restarted_by == restarter::kDaemonSetController) return "the DaemonSet controller";
  if (restarted_by == restarter::kPerconaSmartUpdate) return "the Percona operator's SmartUpdate";
  return std::string(restarted_by);
}

}  // namespace irsa::kube
