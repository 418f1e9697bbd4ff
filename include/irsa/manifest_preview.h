// The offline preview of what admins actually have (`irsa-webhook mutate -f`): workloads, whose
// pod template is previewed as their pods will receive it, and inputs holding several objects
// (a multi-document YAML stream, a `List` as `kubectl get -o yaml` prints it).
//
// Owns: splitting an input into objects; the pod a workload's controller would create from its
// template (template labels, annotations and spec, the workload's namespace) sent through Admit()
// exactly as the API server would send it; that pod's patch re-rooted onto the workload's pod
// template; the one-line summary per object.
// Never: changes what `serve` admits (pods, ServiceAccounts, PerconaServerMongoDB only), reads
// files or prints.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/admission.h"
#include "irsa/config.h"
#include "irsa/status.h"

namespace irsa {

// Where a workload keeps its pod template, as a JSON Pointer ("/spec/template", for a CronJob
// "/spec/jobTemplate/spec/template"); empty for any other kind. `api_version` as in the object.
std::string PodTemplatePath(std::string_view api_version, std::string_view kind);

struct ObjectPreview {
  std::string kind;           // of the object given: Pod, StatefulSet, ...
  std::string ns;             // the namespace the rules used
  std::string name;           // metadata.name, else metadata.generateName
  bool pod_template = false;  // a workload, previewed through its pod template
  AdmissionRequest request;   // what went through Admit(): the object, or a workload's pod
  AdmissionResult result;
  nlohmann::json patch = nlohmann::json::array();  // for the object as given
  nlohmann::json mutated;                          // the object as given, patched
};

// Previews one object: a Pod, ServiceAccount or PerconaServerMongoDB as Admit() does it, a
// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob through its pod template.
// Namespace: `ns` if non-empty, else metadata.namespace, else "default". An unknown kind or a
// workload without a pod template is an error; an unreadable pod is outcome kError.
Result<ObjectPreview> PreviewObject(const Config& config, const nlohmann::json& object,
                                    std::string_view ns, const ServiceAccountLookup* lookup);

// The objects of a parsed input: the items of a List (kind "List" or "<Kind>List" with items),
// else the documents themselves.
bool IsList(const nlohmann::json& document);
std::vector<nlohmann::json> ObjectsOf(const std::vector<nlohmann::json>& documents);

// "StatefulSet psmdb/my-cluster-name-cfg (pod template): mutated (<reason>), role <arn>,
// binding "psmdb"": what happened and why, as the server logs it.
std::string PreviewSummary(const ObjectPreview& preview);

}  // namespace irsa
