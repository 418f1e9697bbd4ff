// Who restarts a workload's pods once reconcile changes its pod template (docs/reference.md section
// 7), so that reconcile never reports a restart nothing will carry out.
//
// Owns: reading a workload's update strategy and, for an OnDelete StatefulSet that a
// PerconaServerMongoDB controls, that cluster's spec.updateStrategy, and turning them into one of
// three paths:
//   - the workload's own controller rolls the pods (Deployment, DaemonSet and StatefulSet with
//     RollingUpdate; a Deployment's Recreate too);
//   - the Percona operator's SmartUpdate restarts them (OnDelete StatefulSet controlled by a
//     PerconaServerMongoDB whose updateStrategy is SmartUpdate, the operator's default);
//   - nothing does (any other OnDelete workload): the pods must be deleted by hand.
// Never: calls the API (the reconciler fetches the objects), patches or deletes anything.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace irsa::kube {

// API group/version, resource and kind of the Percona operator's cluster object.
inline constexpr std::string_view kPerconaGroupVersion = "psmdb.percona.com/v1";
inline constexpr std::string_view kPerconaResource = "perconaservermongodbs";
inline constexpr std::string_view kPerconaClusterKind = "PerconaServerMongoDB";
// spec.updateStrategy of a PerconaServerMongoDB under which the operator restarts the pods of its
// OnDelete StatefulSets itself; the operator also applies it when the field is empty.
inline constexpr std::string_view kSmartUpdate = "SmartUpdate";
// Update strategy type under which a template change restarts nothing.
inline constexpr std::string_view kOnDeleteStrategy = "OnDelete";

// Tokens of ReconcileAction::restarted_by (JSON "restartedBy").
namespace restarter {
inline constexpr std::string_view kDeploymentController = "deployment-controller";
inline constexpr std::string_view kStatefulSetController = "statefulset-controller";
inline constexpr std::string_view kDaemonSetController = "daemonset-controller";
inline constexpr std::string_view kPerconaSmartUpdate = "percona-smartupdate";
}  // namespace restarter

enum class RestartPath {
  kController,          // the workload's controller rolls the pods
  kPerconaSmartUpdate,  // the Percona operator restarts them (SmartUpdate)
  kOnDelete,            // nothing restarts them: delete the pods by hand
};

struct RestartPlan {
  RestartPath path = RestartPath::kController;
  std::string restarted_by;  // a restarter:: token; empty for kOnDelete
  std::string why;           // for people, e.g. "updateStrategy OnDelete"
};

// The name of the PerconaServerMongoDB that controls `workload` (its controller
// ownerReference), if any.
std::optional<std::string> PerconaController(const nlohmann::json& workload);

// True when the plan depends on the controlling PerconaServerMongoDB: an OnDelete StatefulSet
// that one controls. The caller then fetches it for PlanRestart.
bool NeedsPerconaCluster(std::string_view kind, const nlohmann::json& workload);

// `kind` is Deployment, StatefulSet or DaemonSet; `percona_cluster` is the controlling
// PerconaServerMongoDB when NeedsPerconaCluster, else nullptr (nullptr for a StatefulSet that
// needs one means it does not exist: nothing will restart the pods).
RestartPlan PlanRestart(std::string_view kind, const nlohmann::json& workload,
                        const nlohmann::json* percona_cluster);

// For people: "the StatefulSet controller", "the Percona operator's SmartUpdate".
std::string RestarterText(std::string_view restarted_by);

}  // namespace irsa::kube
