#include "mutate_command.h"

#include <iostream>

#include "flags.h"
#include "irsa/admission.h"
#include "irsa/constants.h"
#include "irsa/document.h"
#include "irsa/manifest_preview.h"
#include "irsa/text.h"

namespace irsa::cli {
namespace {

using nlohmann::json;

std::string StringField(const json& obj, std::string_view key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::string MetadataNamespace(const json& object) {
  return object.is_object() && object.contains("metadata")
             ? StringField(object["metadata"], "namespace")
             : std::string();
}

// "Note: ..." and "Warning: ..." lines of one object on stderr; `prefix` names the object when
// the input holds several.
void PrintSummary(const ObjectPreview& p, const std::string& prefix) {
  for (const auto& warning : p.result.mutation.warnings)
    std::cerr << "Warning: " << prefix << warning << "\n";
  // What happened and why, as the server logs it: the first thing to read when a pod was not
  // injected. stdout stays the requested output only.
  std::cerr << "Note: " << PreviewSummary(p) << "\n";
}

// One object (a Pod, ServiceAccount, PerconaServerMongoDB or workload) or an AdmissionReview.
CommandStatus MutateOne(const Config& config, const json& input, const std::string& input_name,
                        const std::string& ns, const ServiceAccountLookup& service_accounts,
                        const std::string& output) {
  ObjectPreview p;
  if (StringField(input, "kind") == kAdmissionReviewKind) {
    auto request = DecodeParsedAdmissionReview(input);
    if (!request.ok()) return CommandStatus::Runtime(input_name + ": " + request.error());
    p.request = std::move(request).value();
    p.kind = p.request.kind;
    p.result = Admit(config, p.request, &service_accounts);
    p.ns = p.result.ns;
    p.name = p.result.object_name;
    p.patch = p.result.mutation.patch.operations();
    p.mutated = p.request.object;
    try {
      if (!p.patch.empty()) p.mutated = p.mutated.patch(p.patch);
    } catch (const json::exception& e) {
      return CommandStatus::Runtime(input_name +
                                    ": internal error: patch does not apply: " + e.what());
    }
  } else {
    auto preview = PreviewObject(config, input, ns, &service_accounts);
    if (!preview.ok()) return CommandStatus::Runtime(input_name + ": " + preview.error());
    p = std::move(preview).value();
  }
  if (p.result.mutation.outcome == Outcome::kError) {
    return CommandStatus::Runtime(input_name + ": " + p.result.mutation.reason);
  }
  PrintSummary(p, "");
  if (output == "patch") {
    std::cout << p.patch.dump(2) << "\n";
  } else if (output == "review") {
    // For a workload: the answer `serve` gives for each of its pods.
    std::cout << EncodeAdmissionResponse(p.request, p.result.mutation) << "\n";
  } else {
    std::cout << (output == "json" ? p.mutated.dump(2) + "\n" : ToYaml(p.mutated));
  }
  return CommandStatus::Ok();
}

}  // namespace

CommandStatus RunMutate(const std::vector<std::string>& args) {
  Flags flags(
      "irsa-webhook mutate --config FILE -f INPUT [--service-account SA_FILE] [--namespace NS] "
      "[-o yaml|json|patch|review]\n\n"
      "Runs a Pod, ServiceAccount or PerconaServerMongoDB manifest, or a whole AdmissionReview, "
      "through the\n"
      "exact code path of `serve` and prints the result. A workload (Deployment, StatefulSet, "
      "DaemonSet,\n"
      "ReplicaSet, Job, CronJob) is previewed through its pod template, as its pods will "
      "receive it; -o patch\n"
      "then patches the workload. INPUT may hold several objects (a multi-document YAML stream, "
      "or a List\n"
      "as `kubectl get -o yaml` prints it): the mutated objects are printed (a List stays a "
      "List; a stream\n"
      "stays a stream with -o yaml and becomes a List with -o json). One summary line per "
      "object and the\n"
      "warnings go to stderr.",
      {{"config", "", false, "FILE",
        "injection config (YAML or JSON); built-in defaults when absent", ""},
       {"filename", "f", false, "INPUT",
        "manifest(s), List or AdmissionReview, YAML or JSON; - for stdin", ""},
       {"service-account", "", false, "SA_FILE",
        "the pods' ServiceAccount object (what the server's cache would hold)", ""},
       {"namespace", "n", false, "NS",
        "namespace of bare manifests (else metadata.namespace, else default)", ""},
       {"output", "o", false, "FORMAT",
        "yaml | json (the mutated objects), patch (JSON Patch), review (AdmissionReview "
        "response); patch and review take one object",
        "yaml"}});
  if (auto done = ParseCommandLine(flags, args)) return *done;
  if (!flags.Has("filename")) return CommandStatus::Usage("-f INPUT is required (- for stdin)");
  const std::string output = flags.Get("output");
  if (output != "yaml" && output != "json" && output != "patch" && output != "review") {
    return CommandStatus::Usage("-o must be yaml, json, patch or review, not " + Quote(output));
  }

  auto loaded = LoadConfigFlag(flags);
  if (!loaded.ok()) return CommandStatus::Runtime(loaded.error());
  const Config config = std::move(loaded).value();
  auto documents = LoadDocumentsFile(flags.Get("filename"));
  if (!documents.ok()) return CommandStatus::Runtime(documents.error());
  const std::string input_name = flags.Get("filename") == "-" ? "stdin" : flags.Get("filename");
  const std::vector<json> objects = ObjectsOf(*documents);
  const bool several = documents->size() > 1 || IsList(documents->front());
  if (several && (output == "patch" || output == "review")) {
    return CommandStatus::Usage("-o " + output + " takes one object; " + input_name + " holds " +
                                std::to_string(objects.size()) +
                                " objects (use -o yaml or -o json)");
  }

  // The namespace a --service-account without one is in: that of the (first) object.
  std::string ns = flags.Get("namespace");
  if (ns.empty() && !objects.empty()) {
    const json& first = objects.front();
    ns = StringField(first, "kind") == kAdmissionReviewKind && first.contains("request")
             ? StringField(first["request"], "namespace")
             : MetadataNamespace(first);
  }
  StaticServiceAccountLookup service_accounts;
  if (flags.Has("service-account")) {
    const std::string sa_file = flags.Get("service-account");
    auto sa_doc = LoadDocumentFile(sa_file);
    if (!sa_doc.ok()) return CommandStatus::Runtime(sa_doc.error());
    if (StringField(*sa_doc, "kind") != "ServiceAccount") {
      return CommandStatus::Runtime(
          sa_file + ": not a ServiceAccount (kind: " + Quote(StringField(*sa_doc, "kind")) + ")");
    }
    auto sa = ReadServiceAccount(*sa_doc, config.annotation_prefix);
    if (!sa.ok()) return CommandStatus::Runtime(sa_file + ": " + sa.error());
    if (sa->ns.empty()) sa->ns = ns.empty() ? "default" : ns;
    service_accounts.Add(std::move(sa).value());
  }

  if (!several) {
    return MutateOne(config, documents->front(), input_name, flags.Get("namespace"),
                     service_accounts, output);
  }

  // Several objects: each is previewed on its own; one that cannot be is passed through.
  std::size_t errors = 0;
  auto mutate = [&](const json& object) -> json {
    const std::string what =
        StringField(object, "kind") + " " +
        (MetadataNamespace(object).empty() ? "" : MetadataNamespace(object) + "/") +
        (object.is_object() && object.contains("metadata") ? StringField(object["metadata"], "name")
                                                           : std::string());
    auto preview = PreviewObject(config, object, flags.Get("namespace"), &service_accounts);
    if (!preview.ok()) {
      const bool other_kind = preview.error().rfind("unknown kind ", 0) == 0;
      std::cerr << "Note: " << what << ": skipped ("
                << (other_kind ? "not a pod, workload, ServiceAccount or PerconaServerMongoDB"
                               : preview.error())
                << "; passed through unchanged)\n";
      return object;
    }
    PrintSummary(*preview, preview->kind + " " + preview->ns + "/" + preview->name + ": ");
    if (preview->result.mutation.outcome == Outcome::kError) ++errors;
    return preview->mutated;
  };
  std::vector<json> out_documents;
  for (const auto& document : *documents) {
    if (IsList(document)) {
      json list = document;
      for (auto& item : list["items"]) item = mutate(item);
      out_documents.push_back(std::move(list));
    } else {
      out_documents.push_back(mutate(document));
    }
  }
  if (output == "json") {
    // JSON has no document streams: several documents become one List, as kubectl prints them.
    json result = out_documents.size() == 1
                      ? out_documents.front()
                      : json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
    if (out_documents.size() > 1) result["items"] = ObjectsOf(out_documents);
    std::cout << result.dump(2) << "\n";
  } else {
    for (std::size_t i = 0; i < out_documents.size(); ++i)
      std::cout << (i > 0 ? "---\n" : "") << ToYaml(out_documents[i]);
  }
  if (errors > 0) {
    return CommandStatus::Runtime(std::to_string(errors) + " object(s) of " + input_name +
                                  " could not be read (see the Note lines above)");
  }
  return CommandStatus::Ok();
}

}  // namespace irsa::cli
