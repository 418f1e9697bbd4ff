#include "kube/reconciler.h"

#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

#include "irsa/mutation.h"
#include "irsa/service_account.h"
#include "irsa/text.h"
#include "kube/restart_strategy.h"

namespace irsa::kube {
namespace {

using nlohmann::json;

constexpr std::string_view kWildcard = "*";

std::string Str(const json& object, std::initializer_list<std::string_view> path) {
  const json* at = &object;
  for (const auto key : path) {
    if (!at->is_object()) return {};
    const auto it = at->find(key);
    if (it == at->end()) return {};
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

std::string Key(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

// The controller of an object: the ownerReference with controller: true.
std::optional<std::pair<std::string, std::string>> Controller(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return std::nullopt;
  const auto owners = metadata->find("ownerReferences");
  if (owners == metadata->end() || !owners->is_array()) return std::nullopt;
  for (const auto& owner : *owners) {
    if (!owner.is_object()) continue;
    const auto controller = owner.find("controller");
    if (controller == owner.end() || !controller->is_boolean() || !controller->get<bool>())
      continue;
    return std::make_pair(Str(owner, {"kind"}), Str(owner, {"name"}));
  }
  return std::nullopt;
}

// The ServiceAccounts reconcile read, as MutatePod will see them after annotation.
class SnapshotLookup final : public ServiceAccountLookup {
 public:
  void Put(ServiceAccountInfo info) {
    std::string key = Key(info.ns, info.name);
    accounts_[std::move(key)] = std::move(info);
  }
  ServiceAccountInfo* Mutable(std::string_view ns, std::string_view name) {
    const auto it = accounts_.find(Key(ns, name));
    return it == accounts_.end() ? nullptr : &it->second;
  }
  std::optional<ServiceAccountInfo> Find(std::string_view ns,
                                         std::string_view name) const override {
    const auto it = accounts_.find(Key(ns, name));
    if (it == accounts_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::unordered_map<std::string, ServiceAccountInfo> accounts_;
};

struct Workload {
  std::string kind;  // Deployment, StatefulSet, DaemonSet
  std::string ns;
  std::string name;
  std::vector<std::string> pods;  // its pods that lack injection, in listing order
  std::string role_arn;
};

std::string_view WorkloadResource(std::string_view kind) {
  if (kind == "Deployment") return "deployments";
  if (kind == "StatefulSet") return "statefulsets";
  if (kind == "DaemonSet") return "daemonsets";
  return {};
}

class Reconciler {
 public:
  Reconciler(const Config& config, const KubeClient& client, const ReconcileOptions& options)
      : config_(config), client_(client), options_(options) {
    report_.dry_run = options.dry_run;
  }

  ReconcileReport Run() {
    for (const auto& advice : LintConfig(config_))
      Add("Config", "", "", "lint", result::kWarning, advice);
    if (!CollectNamespaces()) return std::move(report_);
    ListServiceAccounts();
    AnnotateServiceAccounts();
    if (options_.restart_workloads) RestartWorkloads();
    return std::move(report_);
  }

 private:
  ReconcileAction& Add(std::string kind, std::string ns, std::string name, std::string action,
                       std::string_view result, std::string message) {
    report_.actions.push_back(ReconcileAction{std::move(kind),
                                              std::move(ns),
                                              std::move(name),
                                              std::move(action),
                                              std::string(result),
                                              std::move(message),
                                              {},
                                              {}});
    return report_.actions.back();
  }

  // The namespaces bindings cover; any "*" makes reconcile read cluster-wide.
  bool CollectNamespaces() {
    for (const auto& b : config_.bindings) {
      for (const auto& ns : b.namespaces) {
        if (ns == kWildcard) {
          cluster_wide_ = true;
        } else if (std::find(namespaces_.begin(), namespaces_.end(), ns) == namespaces_.end()) {
          namespaces_.push_back(ns);
        }
      }
    }
    return cluster_wide_ || !namespaces_.empty();
  }

  bool Covered(std::string_view ns) const {
    return std::any_of(config_.bindings.begin(), config_.bindings.end(),
                       [&](const Binding& b) { return b.CoversNamespace(ns); });
  }

  // Lists `resource` in every covered namespace (or cluster-wide); failures are reported.
  void ListEach(std::string_view group_version, std::string_view resource, std::string_view kind,
                const std::function<void(json&&)>& on_item,
                std::set<std::string>* empty_namespaces = nullptr) {
    std::vector<std::string> scopes = cluster_wide_ ? std::vector<std::string>{""} : namespaces_;
    for (const auto& ns : scopes) {
      std::size_t count = 0;
      auto listed = client_.List(ResourcePath(group_version, resource, ns), [&](json&& item) {
        ++count;
        on_item(std::move(item));
      });
      if (!listed.ok()) {
        Add(std::string(kind), ns.empty() ? std::string(kWildcard) : ns, "", "list",
            result::kFailed, listed.error());
      } else if (count == 0 && empty_namespaces != nullptr) {
        empty_namespaces->insert(ns);
      }
    }
  }

  void ListServiceAccounts() {
    ListEach(
        "v1", "serviceaccounts", "ServiceAccount",
        [&](json&& sa) {
          const std::string ns = Str(sa, {"metadata", "namespace"});
          const std::string name = Str(sa, {"metadata", "name"});
          if (ns.empty() || name.empty()) return;
          auto info = ReadServiceAccount(sa, config_.annotation_prefix);
          if (info.ok()) lookup_.Put(std::move(info).value());
          // Keep the whole object only for the SAs a binding may annotate; the rest only feed
          // lookup_.
          for (const auto& b : config_.bindings) {
            if (b.annotate_service_accounts && b.CoversNamespace(ns) &&
                b.NamesServiceAccount(name)) {
              service_accounts_.emplace(Key(ns, name), std::move(sa));
              break;
            }
          }
        },
        &empty_namespaces_);
  }

  void AnnotateServiceAccounts() {
    std::set<std::string> reported;
    for (const auto& b : config_.bindings) {
      if (!b.annotate_service_accounts) continue;
      for (const auto& name : b.service_accounts) {
        if (name == kWildcard) continue;
        if (std::find(b.namespaces.begin(), b.namespaces.end(), kWildcard) != b.namespaces.end()) {
          // Every namespace: each SA of that name that exists.
          bool any = false;
          for (auto& [key, sa] : service_accounts_) {
            if (Str(sa, {"metadata", "name"}) != name) continue;
            any = true;
            if (reported.insert(key).second) Annotate(Str(sa, {"metadata", "namespace"}), name, sa);
          }
          if (!any && reported.insert(Key(kWildcard, name)).second) {
            Add("ServiceAccount", std::string(kWildcard), name, "annotate", result::kNotFound,
                "binding " + Quote(b.name) +
                    " names it, but no namespace has a ServiceAccount of that name; the "
                    "webhook annotates it when it is created");
          }
          continue;
        }
        for (const auto& ns : b.namespaces) {
          const std::string key = Key(ns, name);
          if (!reported.insert(key).second) continue;
          const auto it = service_accounts_.find(key);
          if (it != service_accounts_.end()) {
            Annotate(ns, name, it->second);
            continue;
          }
          if (ListFailed("ServiceAccount", ns)) continue;  // unknown, already reported as failed
          std::string message = "binding " + Quote(b.name) +
                                " names it, but it does not exist; the webhook annotates it "
                                "when it is created";
          if (empty_namespaces_.count(ns) != 0)
            message += " (namespace " + ns + " has no ServiceAccounts: does it exist?)";
          Add("ServiceAccount", ns, name, "annotate", result::kNotFound, std::move(message));
        }
      }
    }
  }

  bool ListFailed(std::string_view kind, std::string_view ns) const {
    return std::any_of(report_.actions.begin(), report_.actions.end(),
                       [&](const ReconcileAction& a) {
                         return a.kind == kind && a.action == "list" &&
                                a.result == result::kFailed && (a.ns == ns || a.ns == kWildcard);
                       });
  }

  void Annotate(const std::string& ns, const std::string& name, const json& sa) {
    auto mutation = MutateServiceAccount(config_, sa, ns);
    if (!mutation.ok()) {
      Add("ServiceAccount", ns, name, "annotate", result::kFailed,
          "unreadable ServiceAccount: " + mutation.error());
      return;
    }
    const Mutation& m = *mutation;
    const std::string& key = config_.keys.role_arn;
    if (m.outcome == Outcome::kUnchanged) {
      if (!m.warnings.empty()) {
        Add("ServiceAccount", ns, name, "annotate", result::kConflict,
            m.warnings.front() +
                "; left alone: remove or fix the annotation by hand if the binding is right");
      } else {
        Add("ServiceAccount", ns, name, "annotate", result::kAlreadyAnnotated,
            key + "=" + m.role_arn);
      }
      return;
    }
    if (m.outcome != Outcome::kMutated) return;
    // What MutatePod will see once the annotation is there (also in dry-run: same plan).
    if (ServiceAccountInfo* info = lookup_.Mutable(ns, name)) info->annotations[key] = m.role_arn;
    const std::string what = key + "=" + m.role_arn + " (binding " + Quote(m.binding) + ")";
    if (options_.dry_run) {
      Add("ServiceAccount", ns, name, "annotate", result::kWouldAnnotate, what);
      return;
    }
    // The resourceVersion makes the merge patch conditional: if someone changed the SA since we
    // read it (perhaps setting another role), the API server answers 409 instead of overwriting.
    // With the marker `reconcile --revert` recognises (irsa/constants.h).
    json patch = {{"metadata",
                   {{"annotations",
                     {{key, m.role_arn}, {std::string(kManagedRoleArnAnnotation), m.role_arn}}}}}};
    if (const std::string rv = Str(sa, {"metadata", "resourceVersion"}); !rv.empty()) {
      patch["metadata"]["resourceVersion"] = rv;
    }
    auto patched =
        client_.Patch(ResourcePath("v1", "serviceaccounts", ns, name), patch, PatchType::kMerge);
    if (!patched.ok()) {
      std::string message = patched.error();
      if (patched.code() == StatusCode::kConflict)
        message += " (it changed while reconciling: run reconcile again)";
      Add("ServiceAccount", ns, name, "annotate", result::kFailed, std::move(message));
      return;
    }
    Add("ServiceAccount", ns, name, "annotate", result::kAnnotated, what);
  }

  // The Deployment owning a ReplicaSet, read once per ReplicaSet.
  Result<std::optional<std::pair<std::string, std::string>>> ReplicaSetOwner(
      const std::string& ns, const std::string& name) {
    const std::string key = Key(ns, name);
    if (const auto it = replica_sets_.find(key); it != replica_sets_.end()) return it->second;
    auto rs = client_.Get(ResourcePath("apps/v1", "replicasets", ns, name));
    if (!rs.ok()) return rs.status();
    auto owner = Controller(rs.value());
    replica_sets_.emplace(key, owner);
    return owner;
  }

  void RestartWorkloads() {
    std::vector<Workload> workloads;
    std::map<std::string, std::size_t> index;  // kind/ns/name -> workloads position
    std::set<std::string> reported_replica_sets;
    ListEach("v1", "pods", "Pod", [&](json&& pod) {
      const std::string ns = Str(pod, {"metadata", "namespace"});
      const std::string name = Str(pod, {"metadata", "name"});
      if (ns.empty() || !Covered(ns)) return;
      // Pods on their way out, or done, will not run again: nothing to roll for them.
      if (pod.contains("metadata") && pod["metadata"].contains("deletionTimestamp") &&
          !pod["metadata"]["deletionTimestamp"].is_null()) {
        return;
      }
      const std::string phase = Str(pod, {"status", "phase"});
      if (phase == "Succeeded" || phase == "Failed") return;
      auto mutation = MutatePod(config_, pod, ns, &lookup_);
      if (!mutation.ok()) {
        Add("Pod", ns, name, "inspect", result::kFailed, "unreadable pod: " + mutation.error());
        return;
      }
      if (mutation->outcome != Outcome::kMutated) return;  // injected already, or not ours
      const std::string role = mutation->role_arn;
      auto owner = Controller(pod);
      if (!owner) {
        Add("Pod", ns, name, "restart", result::kBarePod,
            "lacks injection (role " + role +
                ") but has no controller to roll; reconcile never deletes pods: "
                "recreate it yourself to inject it");
        return;
      }
      if (owner->first == "ReplicaSet") {
        auto rs_owner = ReplicaSetOwner(ns, owner->second);
        if (!rs_owner.ok()) {
          if (reported_replica_sets.insert(Key(ns, owner->second)).second) {
            Add("ReplicaSet", ns, owner->second, "inspect", result::kFailed, rs_owner.error());
          }
          return;
        }
        if (!rs_owner.value() || rs_owner.value()->first != "Deployment") {
          if (reported_replica_sets.insert(Key(ns, owner->second)).second) {
            Add("ReplicaSet", ns, owner->second, "restart", result::kUnsupportedOwner,
                "owns pod " + name +
                    " that lacks injection, but no Deployment controls it; roll it yourself");
          }
          return;
        }
        owner = rs_owner.value();
      }
      if (WorkloadResource(owner->first).empty()) {
        Add("Pod", ns, name, "restart", result::kUnsupportedOwner,
            "lacks injection (role " + role + "); its controller " + owner->first + " " +
                owner->second + " cannot be rolled by reconcile: restart it yourself");
        return;
      }
      const std::string key = owner->first + "/" + Key(ns, owner->second);
      auto [it, inserted] = index.emplace(key, workloads.size());
      if (inserted) workloads.push_back(Workload{owner->first, ns, owner->second, {}, role});
      workloads[it->second].pods.push_back(name);
    });

    const std::string restarted_at =
        options_.restarted_at.empty() ? NowRfc3339() : options_.restarted_at;
    for (const auto& w : workloads) {
      auto plan = DecideRestart(w);
      if (!plan.ok()) {
        Add(w.kind, w.ns, w.name, "restart", result::kFailed, plan.error()).pods = w.pods;
        continue;
      }
      Restart(w, *plan, restarted_at);
    }
  }

  // Who will restart the pods of `w` once its template changes (restart_strategy.h): reads the
  // workload and, for an OnDelete StatefulSet a PerconaServerMongoDB controls, that cluster.
  Result<RestartPlan> DecideRestart(const Workload& w) const {
    auto workload = client_.Get(ResourcePath("apps/v1", WorkloadResource(w.kind), w.ns, w.name));
    if (!workload.ok()) return workload.status();
    if (!NeedsPerconaCluster(w.kind, *workload)) return PlanRestart(w.kind, *workload, nullptr);
    auto cluster = client_.Get(
        ResourcePath(kPerconaGroupVersion, kPerconaResource, w.ns, *PerconaController(*workload)));
    if (!cluster.ok() && cluster.code() != StatusCode::kNotFound) return cluster.status();
    return PlanRestart(w.kind, *workload, cluster.ok() ? &cluster.value() : nullptr);
  }

  // Carries out `plan` for `w`: the restartedAt annotation when a controller or the Percona
  // operator will restart the pods, else (OnDelete) the list of pods to delete by hand.
  void Restart(const Workload& w, const RestartPlan& plan, const std::string& restarted_at) {
    const std::size_t n = w.pods.size();
    const std::string why = std::to_string(n) + (n == 1 ? " pod lacks" : " pods lack") +
                            " injection (e.g. " + w.pods.front() + ", role " + w.role_arn + ")";
    if (plan.path == RestartPath::kOnDelete) {
      std::string pods;
      for (const auto& p : w.pods) pods += " " + p;
      Add(w.kind, w.ns, w.name, "restart", result::kOnDelete,
          why + "; " + plan.why +
              ": nothing restarts them on a template change and reconcile never deletes pods; "
              "delete them by hand, one at a time, each once the previous one is Ready again: "
              "kubectl delete pod -n " +
              w.ns + pods)
          .pods = w.pods;
      return;
    }
    if (options_.dry_run) {
      ReconcileAction& a =
          Add(w.kind, w.ns, w.name, "restart", result::kWouldRestart, why + "; " + plan.why);
      a.pods = w.pods;
      a.restarted_by = plan.restarted_by;
      return;
    }
    // What `kubectl rollout restart` sends: a new pod template annotation rolls the pods, or, for
    // an OnDelete StatefulSet under SmartUpdate, makes the operator restart them.
    const json patch = {
        {"spec",
         {{"template",
           {{"metadata",
             {{"annotations", {{std::string(kRestartedAtAnnotation), restarted_at}}}}}}}}}};
    auto patched = client_.Patch(ResourcePath("apps/v1", WorkloadResource(w.kind), w.ns, w.name),
                                 patch, PatchType::kStrategicMerge);
    if (!patched.ok()) {
      Add(w.kind, w.ns, w.name, "restart", result::kFailed, patched.error()).pods = w.pods;
      return;
    }
    ReconcileAction& a = Add(
        w.kind, w.ns, w.name, "restart", result::kRestarted,
        why + "; " + plan.why + "; " + std::string(kRestartedAtAnnotation) + "=" + restarted_at);
    a.pods = w.pods;
    a.restarted_by = plan.restarted_by;
  }

  const Config& config_;
  const KubeClient& client_;
  const ReconcileOptions& options_;
  ReconcileReport report_;
  bool cluster_wide_ = false;
  std::vector<std::string> namespaces_;
  std::set<std::string> empty_namespaces_;
  std::map<std::string, json> service_accounts_;  // ns/name -> object, for SAs bindings name
  SnapshotLookup lookup_;
  std::unordered_map<std::string, std::optional<std::pair<std::string, std::string>>> replica_sets_;
};

}  // namespace

bool ReconcileReport::failed() const { return Count(result::kFailed) != 0; }

std::size_t ReconcileReport::Count(std::string_view r) const {
  return static_cast<std::size_t>(std::count_if(
      actions.begin(), actions.end(), [&](const ReconcileAction& a) { return a.result == r; }));
}

ReconcileReport Reconcile(const Config& config, const KubeClient& client,
                          const ReconcileOptions& options) {
  return Reconciler(config, client, options).Run();
}

std::string NowRfc3339() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

}  // namespace irsa::kube
