// `irsa-webhook reconcile` (docs/reference.md section 7): bring what existed before the webhook in
// line with the config. Annotates the existing ServiceAccounts that bindings name and, on request,
// rolls each Deployment/StatefulSet/DaemonSet owning a pod that the webhook would inject but that
// lacks injection.
//
// Owns: reading the cluster (ServiceAccounts and, with restart_workloads, pods, ReplicaSets, the
// workloads to roll and the PerconaServerMongoDB controlling an OnDelete StatefulSet, in the
// namespaces the bindings cover), the plan (which SA gets which annotation, which conflicts
// and missing SAs to report, which owner to roll), and carrying it out unless dry_run. The rules
// themselves are the core's: MutateServiceAccount decides each annotation (first binding wins,
// a different existing value is a conflict left alone) and MutatePod, fed the ServiceAccounts as
// they will be after annotation, decides whether a pod lacks injection (Outcome::kMutated).
// Who restarts a workload's pods is decided apart (DecideRestart, restart_strategy.h): an
// OnDelete workload that no operator restarts is reported with its pods (on-delete), not patched.
// Never: deletes or evicts pods (a bare pod is reported), replaces an existing annotation, rolls
// an owner twice, reports a restart nothing will carry out, or writes anything in dry_run. Never
// exits or prints: the command renders the report.
// Thread-safety: Reconcile() is a plain function; it uses the client from the calling thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "irsa/config.h"
#include "kube/kube_client.h"

namespace irsa::kube {

// Pod template annotation `kubectl rollout restart` sets; a new value rolls the workload.
inline constexpr std::string_view kRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

// Action results, as they appear in the report (text and JSON).
namespace result {
inline constexpr std::string_view kAnnotated = "annotated";
inline constexpr std::string_view kWouldAnnotate = "would-annotate";
inline constexpr std::string_view kAlreadyAnnotated = "already-annotated";
inline constexpr std::string_view kConflict = "conflict";   // another role-arn kept
inline constexpr std::string_view kNotFound = "not-found";  // a named SA does not exist
inline constexpr std::string_view kRestarted = "restarted";
inline constexpr std::string_view kWouldRestart = "would-restart";
// updateStrategy OnDelete and no operator that restarts the pods: they must be deleted by hand.
inline constexpr std::string_view kOnDelete = "on-delete";
inline constexpr std::string_view kBarePod = "bare-pod";  // no controller: not restarted
inline constexpr std::string_view kUnsupportedOwner = "unsupported-owner";  // e.g. a Job
inline constexpr std::string_view kWarning = "warning";  // config advice (LintConfig)
inline constexpr std::string_view kFailed = "failed";    // an API call failed
}  // namespace result

struct ReconcileOptions {
  bool dry_run = false;
  bool restart_workloads = false;
  std::string restarted_at;  // RFC 3339 value of kRestartedAtAnnotation; empty = now (UTC)
};

struct ReconcileAction {
  std::string kind;  // ServiceAccount, Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, Config
  std::string ns;    // "*" for a ServiceAccount found in no namespace of a "*" binding
  std::string name;
  std::string action;             // annotate, restart, list, inspect, lint
  std::string result;             // one of result::k*
  std::string message;            // what and why, for people
  std::vector<std::string> pods;  // restart: the pods lacking injection
  std::string restarted_by;       // restart: a restarter:: token (restart_strategy.h), or empty
};

struct ReconcileReport {
  bool dry_run = false;
  std::vector<ReconcileAction> actions;

  bool failed() const;  // any action failed: the command exits 1
  std::size_t Count(std::string_view result) const;
};

ReconcileReport Reconcile(const Config& config, const KubeClient& client,
                          const ReconcileOptions& options);

// The current time as RFC 3339 in UTC, e.g. "2025-01-31T12:00:00Z".
std::string NowRfc3339();

}  // namespace irsa::kube
