#include "kube/injection_check.h"

#include <httplib.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "irsa/mutation.h"
#include "irsa/service_account.h"
#include "irsa/text.h"
#include "kube/reconciler.h"
#include "kube/restart_strategy.h"

namespace irsa::kube {
namespace {

using nlohmann::json;

constexpr std::string_view kWildcard = "*";
// Name of the dry-run pod's container when the binding does not restrict containers.
constexpr std::string_view kProbeContainerName = "probe";
// Port a webhook Service is called on when clientConfig.service.port is not set.
constexpr int kDefaultWebhookServicePort = 443;
// Label EndpointSlices carry to name their Service.
constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
// Label StatefulSet pods carry with the revision they were created from.
constexpr std::string_view kControllerRevisionLabel = "controller-revision-hash";

const json* Find(const json& object, std::initializer_list<std::string_view> path) {
  const json* at = &object;
  for (const auto key : path) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string Str(const json& object, std::initializer_list<std::string_view> path) {
  const json* at = Find(object, path);
  return at != nullptr && at->is_string() ? at->get<std::string>() : std::string();
}

Labels LabelsOf(const json& object) {
  Labels labels;
  if (const json* l = Find(object, {"metadata", "labels"}); l != nullptr && l->is_object()) {
    for (const auto& [k, v] : l->items()) {
      if (v.is_string()) labels.emplace(k, v.get<std::string>());
    }
  }
  return labels;
}

std::string Key(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

// Labels a pod needs to be selected by `binding`: its preset's, then its podSelector's.
Labels ProbeLabels(const Binding& binding) {
  Labels labels;
  if (binding.preset == Preset::kPerconaServerMongoDB) {
    // A data-bearing replica set member, as the operator labels rs0's pods.
    labels[std::string(kLabelAppName)] = "percona-server-mongodb";
    labels[std::string(kLabelAppComponent)] = "mongod";
  }
  if (binding.pod_selector) {
    for (const auto& [k, v] : binding.pod_selector->match_labels()) labels[k] = v;
    for (const auto& r : binding.pod_selector->requirements()) {
      using Op = LabelSelectorRequirement::Operator;
      const auto it = labels.find(r.key);
      switch (r.op) {
        case Op::kIn:
          if (it == labels.end() ||
              std::find(r.values.begin(), r.values.end(), it->second) == r.values.end()) {
            labels[r.key] = r.values.front();
          }
          break;
        case Op::kExists:
          if (it == labels.end()) labels[r.key] = "irsa-webhook-check";
          break;
        case Op::kNotIn:
          if (it != labels.end() &&
              std::find(r.values.begin(), r.values.end(), it->second) != r.values.end()) {
            labels.erase(it);
          }
          break;
        case Op::kDoesNotExist:
          if (it != labels.end()) labels.erase(it);
          break;
      }
    }
  }
  labels[std::string(kCheckProbeLabel)] = "true";
  return labels;
}

// A pod that passes the restricted Pod Security Standard and common LimitRanges, so only the
// webhook decides what comes back.
json ProbePod(const Binding& binding, const std::string& ns, const std::string& service_account,
              const Labels& labels) {
  json containers = json::array();
  std::vector<std::string> names = binding.containers;
  if (names.empty()) names.emplace_back(kProbeContainerName);
  for (const auto& name : names) {
    containers.push_back(
        {{"name", name},
         {"image", kCheckPodImage},
         {"resources",
          {{"requests", {{"cpu", "10m"}, {"memory", "16Mi"}}},
           {"limits", {{"cpu", "10m"}, {"memory", "16Mi"}}}}},
         {"securityContext",
          {{"allowPrivilegeEscalation", false}, {"capabilities", {{"drop", {"ALL"}}}}}}});
  }
  json label_object = json::object();
  for (const auto& [k, v] : labels) label_object[k] = v;
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"generateName", kCheckPodGenerateName}, {"namespace", ns}, {"labels", label_object}}},
          {"spec",
           {{"serviceAccountName", service_account},
            {"automountServiceAccountToken", false},
            {"securityContext",
             {{"runAsNonRoot", true},
              {"runAsUser", 65532},
              {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
            {"containers", containers}}}};
}

// The ServiceAccounts read from the API, as MutatePod sees them.
class SnapshotLookup final : public ServiceAccountLookup {
 public:
  void Put(ServiceAccountInfo info) {
    std::string key = Key(info.ns, info.name);
    accounts_[std::move(key)] = std::move(info);
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

// One webhook of a MutatingWebhookConfiguration that intercepts pods or ServiceAccounts.
struct Webhook {
  std::string configuration;  // MutatingWebhookConfiguration name
  std::string created;        // its creationTimestamp (RFC 3339, UTC)
  std::string name;
  std::string failure_policy;
  std::optional<LabelSelector> namespace_selector;
  std::optional<LabelSelector> object_selector;
  std::string url;
  std::string service_ns, service_name, service_path;
  int service_port = kDefaultWebhookServicePort;
  bool pods = false;              // pods CREATE
  bool service_accounts = false;  // serviceaccounts CREATE and UPDATE

  std::string Target() const {
    if (!url.empty()) return url;
    return "Service " + service_ns + "/" + service_name + " port " + std::to_string(service_port) +
           (service_path.empty() ? "" : " path " + service_path);
  }
};

bool Contains(const json& list, std::string_view value) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(), [&](const json& v) {
    return v.is_string() && (v.get_ref<const std::string&>() == value ||
                             v.get_ref<const std::string&>() == kWildcard);
  });
}

// Does this rule send `resource` `operation` of the core group to the webhook?
bool RuleCovers(const json& rule, std::string_view resource, std::string_view operation) {
  return Contains(Find(rule, {"apiGroups"}) ? *Find(rule, {"apiGroups"}) : json(), "") &&
         Contains(Find(rule, {"resources"}) ? *Find(rule, {"resources"}) : json(), resource) &&
         Contains(Find(rule, {"operations"}) ? *Find(rule, {"operations"}) : json(), operation);
}

class InjectionChecker {
 public:
  InjectionChecker(const Config& config, const KubeClient& client)
      : config_(config), client_(client) {}

  std::vector<CheckItem> Prove(ProofScope scope) {
    CollectNamespaces();
    ListServiceAccounts();
    std::vector<CheckItem> items;
    std::set<std::string> probed;
    for (const auto& b : config_.bindings) {
      for (const auto& listed_ns : b.namespaces) {
        const std::string ns =
            listed_ns == kWildcard ? std::string(kWildcardProbeNamespace) : listed_ns;
        if (!probed.insert(b.name + "/" + ns).second) continue;
        items.push_back(ProbePodAdmission(b, ns));
        if (scope == ProofScope::kPods) continue;
        if (auto sa = ProbeServiceAccountAdmission(b, ns)) items.push_back(std::move(*sa));
      }
    }
    return items;
  }

  CheckReport Run() {
    CheckReport report;
    report.source = client_.config().source;
    for (const auto& advice : LintConfig(config_)) {
      report.items.push_back(CheckItem{std::string(check_section::kConfig), "Config", "", "",
                                       std::string(check_status::kWarning), "", "", "", advice});
    }
    if (config_.bindings.empty()) {
      report.items.push_back(CheckItem{std::string(check_section::kConfig), "Config", "", "",
                                       std::string(check_status::kUnproven), "", "", "",
                                       "no bindings in the config: nothing to check (pass the "
                                       "webhook's config with --config)"});
      return report;
    }
    for (auto& item : Prove(ProofScope::kPodsAndServiceAccounts))
      report.items.push_back(std::move(item));
    CheckPods(report.items);
    CheckServiceAccounts(report.items);
    CheckPercona(report.items);
    return report;
  }

 private:
  // --- cluster reads ---

  void CollectNamespaces() {
    for (const auto& b : config_.bindings) {
      for (const auto& ns : b.namespaces) {
        if (ns == kWildcard) {
          cluster_wide_ = true;
        } else if (std::find(namespaces_.begin(), namespaces_.end(), ns) == namespaces_.end()) {
          namespaces_.push_back(ns);
        }
      }
    }
  }

  std::vector<std::string> Scopes() const {
    return cluster_wide_ ? std::vector<std::string>{""} : namespaces_;
  }

  void ListServiceAccounts() {
    if (service_accounts_listed_) return;
    service_accounts_listed_ = true;
    for (const auto& scope : Scopes()) {
      auto listed = client_.List(ResourcePath("v1", "serviceaccounts", scope), [&](json&& sa) {
        const std::string ns = Str(sa, {"metadata", "namespace"});
        const std::string name = Str(sa, {"metadata", "name"});
        if (ns.empty() || name.empty()) return;
        if (auto info = ReadServiceAccount(sa, config_.annotation_prefix); info.ok())
          lookup_.Put(std::move(info).value());
        service_accounts_.emplace(Key(ns, name), std::move(sa));
      });
      if (!listed.ok()) list_errors_.push_back(listed.error());
    }
  }

  bool ServiceAccountExists(const std::string& ns, const std::string& name) const {
    return service_accounts_.count(Key(ns, name)) != 0;
  }

  // The MutatingWebhookConfigurations' webhooks for pods and ServiceAccounts, read once.
  const std::vector<Webhook>& Webhooks() {
    if (webhooks_read_) return webhooks_;
    webhooks_read_ = true;
    auto listed = client_.List(
        ResourcePath("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations"),
        [&](json&& configuration) {
          const json* hooks = Find(configuration, {"webhooks"});
          if (hooks == nullptr || !hooks->is_array()) return;
          for (const auto& hook : *hooks) {
            Webhook w;
            w.configuration = Str(configuration, {"metadata", "name"});
            w.created = Str(configuration, {"metadata", "creationTimestamp"});
            w.name = Str(hook, {"name"});
            w.failure_policy = Str(hook, {"failurePolicy"});
            if (w.failure_policy.empty()) w.failure_policy = "Fail";  // the v1 default
            if (const json* rules = Find(hook, {"rules"}); rules != nullptr && rules->is_array()) {
              for (const auto& rule : *rules) {
                w.pods = w.pods || RuleCovers(rule, "pods", "CREATE");
                w.service_accounts =
                    w.service_accounts || (RuleCovers(rule, "serviceaccounts", "CREATE") &&
                                           RuleCovers(rule, "serviceaccounts", "UPDATE"));
              }
            }
            if (!w.pods && !w.service_accounts) continue;
            if (const json* s = Find(hook, {"namespaceSelector"}); s != nullptr && s->is_object()) {
              if (auto parsed = LabelSelector::Parse(*s, "namespaceSelector"); parsed.ok())
                w.namespace_selector = std::move(parsed).value();
            }
            if (const json* s = Find(hook, {"objectSelector"}); s != nullptr && s->is_object()) {
              if (auto parsed = LabelSelector::Parse(*s, "objectSelector"); parsed.ok())
                w.object_selector = std::move(parsed).value();
            }
            w.url = Str(hook, {"clientConfig", "url"});
            w.service_ns = Str(hook, {"clientConfig", "service", "namespace"});
            w.service_name = Str(hook, {"clientConfig", "service", "name"});
            w.service_path = Str(hook, {"clientConfig", "service", "path"});
            if (const json* port = Find(hook, {"clientConfig", "service", "port"});
                port != nullptr && port->is_number_integer()) {
              w.service_port = port->get<int>();
            }
            webhooks_.push_back(std::move(w));
          }
        });
    if (!listed.ok()) webhooks_error_ = listed.error();
    return webhooks_;
  }

  // The namespace's labels, or nullopt when it cannot be read.
  std::optional<Labels> NamespaceLabels(const std::string& ns) {
    if (const auto it = namespace_labels_.find(ns); it != namespace_labels_.end())
      return it->second;
    std::optional<Labels> labels;
    if (auto got = client_.Get(ResourcePath("v1", "namespaces", "", ns)); got.ok())
      labels = LabelsOf(*got);
    namespace_labels_.emplace(ns, labels);
    return labels;
  }

  // --- the diagnosis of a failed proof ---

  // Does anything answer at the webhook's URL (from this machine)?
  static std::string ProbeUrl(const std::string& url) {
    std::string rest = url;
    const bool https = rest.rfind("https://", 0) == 0;
    if (!https) return "";
    rest = rest.substr(8);
    const std::string authority = rest.substr(0, rest.find('/'));
    std::string host = authority;
    int port = 443;
    if (const auto colon = authority.rfind(':');
        colon != std::string::npos && authority.find(']') == std::string::npos) {
      host = authority.substr(0, colon);
      port = std::atoi(authority.substr(colon + 1).c_str());
    }
    httplib::SSLClient http(host, port);
    http.enable_server_certificate_verification(false);  // only: does anything answer?
    const auto timeout =
        std::chrono::duration_cast<std::chrono::microseconds>(kWebhookUrlProbeTimeout);
    http.set_connection_timeout(timeout);
    http.set_read_timeout(timeout);
    const auto res = http.Get("/healthz");
    if (!res) return httplib::to_string(res.error());
    return "";
  }

  // Why `webhook` may not have been called for this namespace or object; empty when nothing is
  // visibly wrong.
  std::string WhyNotCalled(const Webhook& w, const std::string& ns, const Labels* object_labels) {
    if (w.namespace_selector) {
      if (const auto labels = NamespaceLabels(ns);
          labels && !w.namespace_selector->Matches(*labels))
        return "its namespaceSelector does not match namespace " + ns +
               "'s labels: label the namespace or widen the selector";
    }
    if (object_labels != nullptr && w.object_selector &&
        !w.object_selector->Matches(*object_labels))
      return "its objectSelector excludes the pod";
    if (!w.url.empty()) {
      const std::string error = ProbeUrl(w.url);
      if (!error.empty()) {
        return "nothing answers at " + w.url + " from here (" + error +
               "): is `irsa-webhook serve` running, and listening on that address and port? "
               "If it listens elsewhere, fix clientConfig.url";
      }
      return "";
    }
    auto service = client_.Get(ResourcePath("v1", "services", w.service_ns, w.service_name));
    if (!service.ok()) {
      if (service.code() == StatusCode::kNotFound)
        return "its Service " + w.service_ns + "/" + w.service_name + " does not exist";
      return "cannot read its Service (" + service.error() + ")";
    }
    std::vector<std::string> ports;
    bool port_found = false;
    if (const json* list = Find(*service, {"spec", "ports"}); list != nullptr && list->is_array()) {
      for (const auto& p : *list) {
        if (const json* n = Find(p, {"port"}); n != nullptr && n->is_number_integer()) {
          ports.push_back(std::to_string(n->get<int>()));
          port_found = port_found || n->get<int>() == w.service_port;
        }
      }
    }
    if (!port_found) {
      return "its Service " + w.service_ns + "/" + w.service_name + " has no port " +
             std::to_string(w.service_port) + " (it has " +
             (ports.empty() ? std::string("none") : Join(ports, ", ")) +
             "): clientConfig.service.port must be one of the Service's ports";
    }
    std::size_t ready = 0;
    auto slices = client_.List(
        ResourcePath("discovery.k8s.io/v1", "endpointslices", w.service_ns),
        [&](json&& slice) {
          const json* endpoints = Find(slice, {"endpoints"});
          if (endpoints == nullptr || !endpoints->is_array()) return;
          for (const auto& e : *endpoints) {
            const json* r = Find(e, {"conditions", "ready"});
            if (r == nullptr || !r->is_boolean() || r->get<bool>()) ++ready;
          }
        },
        ListOptions{kDefaultListPageSize, std::string(kServiceNameLabel) + "=" + w.service_name});
    if (slices.ok() && ready == 0) {
      return "its Service " + w.service_ns + "/" + w.service_name +
             " has no ready endpoints: are the webhook's pods running and ready (kubectl -n " +
             w.service_ns + " get pods)?";
    }
    return "";
  }

  // The diagnosis appended to a failed proof for `resource` ("pods" or "serviceaccounts").
  std::string Diagnose(const std::string& ns, bool pods, const Labels* object_labels) {
    const auto& hooks = Webhooks();
    if (!webhooks_error_.empty())
      return " (cannot read the MutatingWebhookConfigurations to say why: " + webhooks_error_ + ")";
    std::vector<std::string> findings;
    for (const auto& w : hooks) {
      if (pods ? !w.pods : !w.service_accounts) continue;
      std::string what = "Webhook " + w.name + " (MutatingWebhookConfiguration " + w.configuration +
                         ", failurePolicy " + w.failure_policy;
      if (w.failure_policy == "Ignore")
        what += std::string(", so the API server let the ") + (pods ? "pod" : "ServiceAccount") +
                " through unchanged";
      what += ") calls " + w.Target();
      const std::string why = WhyNotCalled(w, ns, object_labels);
      findings.push_back(
          what + (why.empty() ? ", which looks reachable: the API server's log says why the "
                                "call failed, or the webhook runs another config than --config "
                                "(compare its ConfigMap)"
                              : ": " + why));
    }
    if (findings.empty()) {
      return std::string(" No MutatingWebhookConfiguration sends ") +
             (pods ? "pod CREATE" : "ServiceAccount CREATE and UPDATE") +
             " requests to a webhook: is irsa-webhook installed (helm list -A)?";
    }
    return " " + Join(findings, "; ");
  }

  // --- the proofs ---

  CheckItem ProbePodAdmission(const Binding& b, const std::string& ns) {
    CheckItem item{std::string(check_section::kDryRun), "Pod", ns, "", "", b.name, "", "", ""};
    // One of the binding's ServiceAccounts that exists (the API server refuses a pod whose
    // ServiceAccount does not).
    std::string sa;
    std::vector<std::string> named;
    for (const auto& name : b.service_accounts) {
      const std::string candidate = name == kWildcard ? "default" : name;
      named.push_back(candidate);
      if (sa.empty() && ServiceAccountExists(ns, candidate)) sa = candidate;
    }
    if (sa.empty()) {
      item.status = check_status::kUnproven;
      item.message =
          "binding " + Quote(b.name) + ": none of its ServiceAccounts (" + Join(named, ", ") +
          ") exists in namespace " + ns +
          (list_errors_.empty() ? "" : " (listing failed: " + list_errors_.front() + ")") +
          ", so no pod of it can run there yet; create them (or the namespace) and "
          "check again";
      return item;
    }
    item.name = "ServiceAccount " + sa;
    const Labels labels = ProbeLabels(b);
    const json pod = ProbePod(b, ns, sa, labels);
    // What this config does to that pod; another binding listed earlier may take it.
    auto expected = MutatePod(config_, pod, ns, &lookup_);
    if (!expected.ok() || expected->outcome != Outcome::kMutated || expected->binding != b.name) {
      item.status = check_status::kUnproven;
      item.message =
          "binding " + Quote(b.name) + ": no pod shape it selects could be built (" +
          (expected.ok() ? (expected->binding.empty() ? expected->reason
                                                      : "binding " + Quote(expected->binding) +
                                                            " listed earlier takes it")
                         : expected.error()) +
          ")";
      return item;
    }
    const std::string& role = b.role_arn;
    const std::string what = "dry-run pod in " + ns + " (ServiceAccount " + sa + ")";
    auto created =
        client_.Create(ResourcePath("v1", "pods", ns) + "?" + std::string(kDryRunAll), pod);
    if (!created.ok()) {
      item.status = check_status::kProblem;
      const std::string& error = created.error();
      if (error.find("failed calling webhook") != std::string::npos) {
        item.message = "the API server refused the " + what +
                       " because calling a webhook failed (failurePolicy Fail: no pod can be "
                       "created in " +
                       ns + " until it is fixed): " + error + "." + Diagnose(ns, true, &labels);
      } else if (created.code() == StatusCode::kForbidden) {
        item.message = "cannot create a " + what + ": " + error +
                       " (check needs create on pods, used only with dryRun=All: see "
                       "docs/check.md)";
      } else {
        item.message = "cannot create a " + what + ": " + error;
      }
      return item;
    }
    // The answer: every container must carry the binding's role, the pod the token volume.
    std::vector<std::string> missing, wrong;
    std::string other_role;
    if (const json* containers = Find(*created, {"spec", "containers"});
        containers != nullptr && containers->is_array()) {
      for (const auto& c : *containers) {
        std::string value;
        bool found = false;
        if (const json* env = Find(c, {"env"}); env != nullptr && env->is_array()) {
          for (const auto& e : *env) {
            if (Str(e, {"name"}) == kEnvRoleArn) {
              found = true;
              value = Str(e, {"value"});
            }
          }
        }
        if (!found) {
          missing.push_back(Str(c, {"name"}));
        } else if (value != role) {
          wrong.push_back(Str(c, {"name"}));
          other_role = value;
        }
      }
    }
    bool volume = false;
    if (const json* volumes = Find(*created, {"spec", "volumes"});
        volumes != nullptr && volumes->is_array()) {
      for (const auto& v : *volumes) volume = volume || Str(v, {"name"}) == kTokenVolumeName;
    }
    if (missing.empty() && wrong.empty() && volume) {
      item.status = check_status::kOk;
      item.state = role;
      item.message = what + " came back injected: " + std::string(kEnvRoleArn) + "=" + role +
                     ", volume " + std::string(kTokenVolumeName);
      return item;
    }
    item.status = check_status::kProblem;
    if (!wrong.empty()) {
      item.message = what + " came back with " + std::string(kEnvRoleArn) + "=" + other_role +
                     ", expected " + role + " (binding " + Quote(b.name) +
                     "): another mutating webhook set it (EKS's pod-identity-webhook injects from "
                     "the ServiceAccount's annotation), or the webhook runs another config than "
                     "--config (compare its ConfigMap)";
    } else if (!missing.empty() && missing.size() < ProbePodContainerCount(b)) {
      item.message = what + " came back with " + std::string(kEnvRoleArn) +
                     " in some containers only (missing in " + Join(missing, ", ") +
                     "): the webhook runs another config than --config (compare its ConfigMap)";
    } else {
      item.message =
          what + " came back without " + std::string(kEnvRoleArn) +
          (volume ? "" : " and without the " + std::string(kTokenVolumeName) + " volume") +
          ": the API server did not apply irsa-webhook's patch." + Diagnose(ns, true, &labels);
    }
    return item;
  }

  static std::size_t ProbePodContainerCount(const Binding& b) {
    return b.containers.empty() ? 1 : b.containers.size();
  }

  std::optional<CheckItem> ProbeServiceAccountAdmission(const Binding& b, const std::string& ns) {
    if (!b.annotate_service_accounts) return std::nullopt;
    std::string name;
    for (const auto& n : b.service_accounts) {
      if (n != kWildcard) {
        name = n;
        break;
      }
    }
    if (name.empty()) return std::nullopt;
    CheckItem item{
        std::string(check_section::kDryRun), "ServiceAccount", ns, name, "", b.name, "", "", ""};
    const std::string& key = config_.keys.role_arn;
    // The role this config gives the ServiceAccount (the first binding naming it).
    json bare = {{"apiVersion", "v1"},
                 {"kind", "ServiceAccount"},
                 {"metadata",
                  {{"name", name},
                   {"namespace", ns},
                   {"labels", {{std::string(kCheckProbeLabel), "true"}}}}}};
    auto expected = MutateServiceAccount(config_, bare, ns);
    if (!expected.ok() || expected->outcome != Outcome::kMutated) return std::nullopt;
    const bool exists = ServiceAccountExists(ns, name);
    // An update that drops the annotation (the webhook must put it back), or a create.
    const std::string what =
        exists ? "dry-run update of ServiceAccount " + ns + "/" + name + " without " + key
               : "dry-run ServiceAccount " + ns + "/" + name;
    const Result<json> answer =
        exists
            ? client_.Patch(
                  ResourcePath("v1", "serviceaccounts", ns, name) + "?" + std::string(kDryRunAll),
                  json{{"metadata", {{"annotations", {{key, nullptr}}}}}}, PatchType::kMerge)
            : client_.Create(
                  ResourcePath("v1", "serviceaccounts", ns) + "?" + std::string(kDryRunAll), bare);
    if (!answer.ok()) {
      if (answer.code() == StatusCode::kNotFound && !exists) {
        item.status = check_status::kUnproven;
        item.message = "namespace " + ns + " does not exist: " + answer.error();
      } else {
        item.status = check_status::kProblem;
        item.message =
            "cannot send a " + what + ": " + answer.error() +
            (answer.code() == StatusCode::kForbidden ? " (check's RBAC: see docs/check.md)" : "");
      }
      return item;
    }
    const std::string got = Str(*answer, {"metadata", "annotations", key});
    if (got == expected->role_arn) {
      item.status = check_status::kOk;
      item.state = got;
      item.message = what + " came back annotated " + key + "=" + got;
      return item;
    }
    item.status = check_status::kProblem;
    item.message = what + " came back " +
                   (got.empty() ? "without " + key : "with " + key + "=" + got) + ", expected " +
                   expected->role_arn + ": the API server did not apply irsa-webhook's patch." +
                   Diagnose(ns, false, nullptr);
    return item;
  }

  // --- the pods table ---

  // The workload template annotations and rollout facts of a pod's controller, if any.
  struct Owner {
    std::string kind, name;
    json object;
  };

  std::optional<Owner> OwnerOf(const json& pod, const std::string& ns) {
    const json* refs = Find(pod, {"metadata", "ownerReferences"});
    if (refs == nullptr || !refs->is_array()) return std::nullopt;
    for (const auto& ref : *refs) {
      const json* controller = Find(ref, {"controller"});
      if (controller == nullptr || !controller->is_boolean() || !controller->get<bool>()) continue;
      std::string kind = Str(ref, {"kind"}), name = Str(ref, {"name"});
      if (kind == "ReplicaSet") {
        auto rs = GetCached("replicasets", ns, name);
        if (!rs) return std::nullopt;
        return OwnerOf(*rs, ns);
      }
      std::string resource = kind == "Deployment"    ? "deployments"
                             : kind == "StatefulSet" ? "statefulsets"
                             : kind == "DaemonSet"   ? "daemonsets"
                                                     : "";
      if (resource.empty()) return std::nullopt;
      auto object = GetCached(resource, ns, name);
      if (!object) return std::nullopt;
      return Owner{kind, name, *object};
    }
    return std::nullopt;
  }

  std::optional<json> GetCached(const std::string& resource, const std::string& ns,
                                const std::string& name) {
    const std::string key = resource + "/" + Key(ns, name);
    if (const auto it = owners_.find(key); it != owners_.end()) return it->second;
    std::optional<json> value;
    if (auto got = client_.Get(ResourcePath("apps/v1", resource, ns, name)); got.ok())
      value = std::move(got).value();
    owners_.emplace(key, value);
    return value;
  }

  // Earliest creation of a webhook configuration that intercepts pods in `ns`.
  std::string WebhookRegistered(const std::string& ns) {
    std::string earliest;
    for (const auto& w : Webhooks()) {
      if (!w.pods) continue;
      if (w.namespace_selector) {
        if (const auto labels = NamespaceLabels(ns);
            labels && !w.namespace_selector->Matches(*labels))
          continue;
      }
      if (earliest.empty() || (!w.created.empty() && w.created < earliest)) earliest = w.created;
    }
    return earliest;
  }

  std::string WhyNotInjected(const json& pod, const std::string& ns) {
    const std::string created = Str(pod, {"metadata", "creationTimestamp"});
    if (auto owner = OwnerOf(pod, ns)) {
      const std::string restart_key(kRestartedAtAnnotation);
      const std::string wanted =
          Str(owner->object, {"spec", "template", "metadata", "annotations", restart_key});
      const std::string has = Str(pod, {"metadata", "annotations", restart_key});
      const std::string strategy = Str(owner->object, {"spec", "updateStrategy", "type"});
      bool pending = !wanted.empty() && wanted != has;
      if (owner->kind == "StatefulSet") {
        const std::string revision = Str(owner->object, {"status", "updateRevision"});
        const auto labels = LabelsOf(pod);
        const auto it = labels.find(kControllerRevisionLabel);
        pending = pending || (!revision.empty() && it != labels.end() && it->second != revision);
      }
      if (pending) {
        std::string why = "restart pending: " + owner->kind + " " + owner->name +
                          " has a newer pod template" +
                          (wanted.empty() ? "" : " (" + restart_key + "=" + wanted + ")") +
                          " that has not replaced this pod yet";
        if (strategy == "OnDelete")
          why +=
              "; its updateStrategy is OnDelete: delete the pod (or let the Percona "
              "operator's SmartUpdate do it)";
        return why;
      }
    }
    const std::string registered = WebhookRegistered(ns);
    if (!registered.empty() && !created.empty() && created < registered) {
      return "started before the webhook was registered (pod created " + created +
             ", webhook configuration created " + registered +
             "): restart its workload (irsa-webhook reconcile --restart-workloads)";
    }
    if (registered.empty()) {
      return "no MutatingWebhookConfiguration sends this namespace's pods to a webhook: is "
             "irsa-webhook installed?";
    }
    return "created while the webhook was registered but not injected: the webhook was down or "
           "unreachable then (failurePolicy Ignore lets pods through), or its config did not "
           "select the pod then; restart its workload (irsa-webhook reconcile "
           "--restart-workloads)";
  }

  void CheckPods(std::vector<CheckItem>& items) {
    for (const auto& scope : Scopes()) {
      auto listed = client_.List(ResourcePath("v1", "pods", scope), [&](json&& pod) {
        const std::string ns = Str(pod, {"metadata", "namespace"});
        const std::string name = Str(pod, {"metadata", "name"});
        const std::string phase = Str(pod, {"status", "phase"});
        if (phase == "Succeeded" || phase == "Failed") return;  // not running, never again
        if (!std::any_of(config_.bindings.begin(), config_.bindings.end(),
                         [&](const Binding& b) { return b.CoversNamespace(ns); }))
          return;
        auto m = MutatePod(config_, pod, ns, &lookup_);
        if (!m.ok()) return;
        CheckItem item{
            std::string(check_section::kPods), "Pod", ns, name, "", m->binding, "", phase, ""};
        const Labels labels = LabelsOf(pod);
        if (labels.count(config_.keys.skip_pod_label) != 0) {
          json without = pod;
          without["metadata"]["labels"].erase(config_.keys.skip_pod_label);
          auto would = MutatePod(config_, without, ns, &lookup_);
          if (!would.ok() || would->role_arn.empty()) return;
          item.binding = would->binding;
          item.status = check_status::kOk;
          item.state = pod_state::kSkipLabel;
          item.message = "label " + config_.keys.skip_pod_label +
                         ": never injected, on purpose (remove the label to inject it)";
          items.push_back(std::move(item));
          return;
        }
        if (m->role_arn.empty()) return;  // not selected by the bindings
        if (m->outcome == Outcome::kUnchanged) {
          item.status = check_status::kOk;
          item.state = pod_state::kInjected;
          item.message = "role " + m->role_arn;
        } else if (m->outcome == Outcome::kMutated) {
          item.status = check_status::kProblem;
          item.state = pod_state::kNotInjected;
          item.message = "lacks role " + m->role_arn + ": " + WhyNotInjected(pod, ns);
        } else {
          item.status = check_status::kProblem;
          item.state = pod_state::kConflict;
          item.message = (m->warnings.empty() ? m->reason : Join(m->warnings.lines(), "; ")) +
                         " (role " + m->role_arn + ")";
        }
        items.push_back(std::move(item));
      });
      if (!listed.ok()) {
        items.push_back(CheckItem{std::string(check_section::kPods), "Pod", scope, "",
                                  std::string(check_status::kProblem), "", "", "",
                                  "cannot list pods: " + listed.error()});
      }
    }
  }

  // --- ServiceAccounts and PerconaServerMongoDB ---

  void CheckServiceAccounts(std::vector<CheckItem>& items) {
    for (const auto& message : list_errors_) {
      items.push_back(CheckItem{std::string(check_section::kServiceAccounts), "ServiceAccount", "",
                                "", std::string(check_status::kProblem), "", "", "",
                                "cannot list ServiceAccounts: " + message});
    }
    std::set<std::string> named;
    for (const auto& b : config_.bindings) {
      if (!b.annotate_service_accounts) continue;
      for (const auto& name : b.service_accounts) {
        if (name == kWildcard) continue;
        for (const auto& ns : b.namespaces) {
          if (ns == kWildcard) continue;
          if (!named.insert(Key(ns, name)).second) continue;
          if (!ServiceAccountExists(ns, name) && list_errors_.empty()) {
            items.push_back(CheckItem{
                std::string(check_section::kServiceAccounts), "ServiceAccount", ns, name,
                std::string(check_status::kWarning), b.name, "", "",
                "binding " + Quote(b.name) +
                    " names it, but it does not exist; the webhook annotates it when it is "
                    "created"});
          }
        }
      }
    }
    const std::string& key = config_.keys.role_arn;
    for (const auto& [k, sa] : service_accounts_) {
      const std::string ns = Str(sa, {"metadata", "namespace"});
      const std::string name = Str(sa, {"metadata", "name"});
      const std::string current = Str(sa, {"metadata", "annotations", key});
      auto m = MutateServiceAccount(config_, sa, ns);
      if (!m.ok()) continue;
      CheckItem item{std::string(check_section::kServiceAccounts),
                     "ServiceAccount",
                     ns,
                     name,
                     "",
                     m->binding,
                     current,
                     "",
                     ""};
      if (m->outcome == Outcome::kMutated) {
        item.status = check_status::kProblem;
        item.message = "lacks " + key + "=" + m->role_arn + " (binding " + Quote(m->binding) +
                       "): run irsa-webhook reconcile, which annotates existing ServiceAccounts";
      } else if (!m->warnings.empty()) {
        item.status = check_status::kWarning;
        item.message = Join(m->warnings.lines(), "; ");
      } else if (!current.empty()) {
        item.status = check_status::kOk;
        item.message =
            key + "=" + current +
            (m->binding.empty() ? " (not from a binding)" : " (binding " + Quote(m->binding) + ")");
      } else {
        continue;  // neither annotated nor named by a binding
      }
      items.push_back(std::move(item));
    }
  }

  void CheckPercona(std::vector<CheckItem>& items) {
    for (const auto& scope : Scopes()) {
      auto listed = client_.List(
          ResourcePath(kPerconaGroupVersion, kPerconaResource, scope), [&](json&& cluster) {
            const std::string ns = Str(cluster, {"metadata", "namespace"});
            const std::string name = Str(cluster, {"metadata", "name"});
            auto m = CheckPerconaServerMongoDB(config_, cluster, ns);
            if (!m.ok()) return;
            if (m->warnings.empty()) {
              items.push_back(CheckItem{std::string(check_section::kPercona),
                                        std::string(kPerconaKind), ns, name,
                                        std::string(check_status::kOk), "", "", "", "no warnings"});
            }
            for (const auto& warning : m->warnings) {
              items.push_back(CheckItem{std::string(check_section::kPercona),
                                        std::string(kPerconaKind), ns, name,
                                        std::string(check_status::kWarning), "", "", "", warning});
            }
          });
      // 404: the CRD is not installed (no Percona operator): nothing to check.
      if (!listed.ok() && listed.code() != StatusCode::kNotFound) {
        items.push_back(CheckItem{std::string(check_section::kPercona), std::string(kPerconaKind),
                                  scope, "", std::string(check_status::kWarning), "", "", "",
                                  "cannot list PerconaServerMongoDB objects: " + listed.error()});
      }
    }
  }

  const Config& config_;
  const KubeClient& client_;
  bool cluster_wide_ = false;
  std::vector<std::string> namespaces_;
  bool service_accounts_listed_ = false;
  std::map<std::string, json> service_accounts_;  // ns/name -> object
  std::vector<std::string> list_errors_;
  SnapshotLookup lookup_;
  bool webhooks_read_ = false;
  std::vector<Webhook> webhooks_;
  std::string webhooks_error_;
  std::map<std::string, std::optional<Labels>> namespace_labels_;
  std::map<std::string, std::optional<json>> owners_;
};

}  // namespace

bool CheckReport::ok() const {
  return std::none_of(items.begin(), items.end(), [](const CheckItem& i) {
    return i.status == check_status::kProblem || i.status == check_status::kUnproven;
  });
}

std::size_t CheckReport::Count(std::string_view section, std::string_view status) const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [&](const CheckItem& i) {
        return (section.empty() || i.section == section) && i.status == status;
      }));
}

std::vector<CheckItem> ProveAdmission(const Config& config, const KubeClient& client,
                                      ProofScope scope) {
  return InjectionChecker(config, client).Prove(scope);
}

CheckReport CheckInjection(const Config& config, const KubeClient& client) {
  return InjectionChecker(config, client).Run();
}

}  // namespace irsa::kube
