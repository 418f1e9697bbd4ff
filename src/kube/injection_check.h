// `irsa-webhook check` (docs/reference.md section 7): read-only end-to-end verification through the
// API server, and the proof `reconcile --restart-workloads` needs before it rolls anything.
//
// Owns:
//  - the admission proof: for each namespace a binding covers, a server-side dry-run
//    (dryRun=All) create of a pod shaped like the binding's target (one of its ServiceAccounts,
//    labels its preset and podSelector select, containers its allow-list names) that must come
//    back with AWS_ROLE_ARN = the binding's role and the aws-iam-token volume; and, where the
//    binding annotates ServiceAccounts, a dry-run create (or, for an existing one, a dry-run
//    patch that removes the annotation) that must come back annotated;
//  - when a proof fails, the diagnosis from what the API server shows: the
//    MutatingWebhookConfigurations that intercept pods, their failurePolicy, namespaceSelector,
//    Service (port, ready endpoints) or URL (does it answer);
//  - the table of pods the bindings select (injected, or why not), the ServiceAccounts the
//    bindings name and their annotation, and the PerconaServerMongoDB objects' warnings.
//    The rules are the core's: MutatePod decides what a pod should have (an injected pod yields
//    Outcome::kUnchanged), MutateServiceAccount what a ServiceAccount should carry,
//    CheckPerconaServerMongoDB the warnings.
// Never: writes anything (every POST and PATCH carries dryRun=All), prints, or exits.
// Thread-safety: plain functions; they use the client from the calling thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "irsa/config.h"
#include "kube/kube_client.h"

namespace irsa::kube {

// Label on the dry-run pods and ServiceAccounts, so an admission log line is recognisable.
inline constexpr std::string_view kCheckProbeLabel = "irsa-webhook.dev/check";
// generateName of the dry-run pods (the API server appends a suffix; nothing is stored).
inline constexpr std::string_view kCheckPodGenerateName = "irsa-webhook-check-";
// Image of the dry-run pod's containers: never pulled (the pod is never stored or scheduled).
inline constexpr std::string_view kCheckPodImage = "registry.k8s.io/pause:3.10";
// Namespace probed for a binding that covers every namespace ("*").
inline constexpr std::string_view kWildcardProbeNamespace = "default";
// Bound of one diagnosis probe of a webhook URL (does anything answer there?).
inline constexpr std::chrono::milliseconds kWebhookUrlProbeTimeout{3000};

// Sections of the report.
namespace check_section {
inline constexpr std::string_view kDryRun = "dry-run";
inline constexpr std::string_view kPods = "pods";
inline constexpr std::string_view kServiceAccounts = "serviceaccounts";
inline constexpr std::string_view kPercona = "perconaservermongodbs";
inline constexpr std::string_view kConfig = "config";
}  // namespace check_section

// Verdict of one item.
namespace check_status {
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kProblem = "problem";    // exit 1: something an admin must fix
inline constexpr std::string_view kWarning = "warning";    // shown, exit unaffected
inline constexpr std::string_view kUnproven = "unproven";  // could not be tested (exit 1)
}  // namespace check_status

// What a pod of the table is.
namespace pod_state {
inline constexpr std::string_view kInjected = "injected";
inline constexpr std::string_view kNotInjected = "not-injected";
inline constexpr std::string_view kSkipLabel = "skip-label";
inline constexpr std::string_view kConflict = "conflict";
}  // namespace pod_state

struct CheckItem {
  std::string section;  // check_section::k*
  std::string kind;     // Pod, ServiceAccount, PerconaServerMongoDB, Config
  std::string ns;
  std::string name;
  std::string status;   // check_status::k*
  std::string binding;  // the binding it concerns, if any
  std::string state;    // pods: pod_state::k*; ServiceAccounts: the role-arn annotation
  std::string phase;    // pods: status.phase
  std::string message;  // what was seen and, for a problem, what to do
};

struct CheckReport {
  std::string source;  // where the API server is, for the header
  std::vector<CheckItem> items;

  // Nothing is a problem or unproven: what `check` exits 0 for.
  bool ok() const;
  std::size_t Count(std::string_view section, std::string_view status) const;
};

// What the admission proof sends.
enum class ProofScope {
  kPods,                    // the dry-run pods only (reconcile's gate: create on pods)
  kPodsAndServiceAccounts,  // and the ServiceAccounts (check)
};

// The dry-run admission proof alone (section kDryRun items, with the diagnosis in the message of
// a failure). Items are kOk, kProblem, or kUnproven (a namespace or ServiceAccount that does not
// exist: nothing can run there yet).
std::vector<CheckItem> ProveAdmission(const Config& config, const KubeClient& client,
                                      ProofScope scope = ProofScope::kPodsAndServiceAccounts);

// Everything `check` reports.
CheckReport CheckInjection(const Config& config, const KubeClient& client);

}  // namespace irsa::kube
