#include "mutate_command.h"

#include <iostream>

#include "flags.h"
#include "irsa/admission.h"
#include "irsa/constants.h"
#include "irsa/document.h"

namespace irsa::cli {
namespace {

using nlohmann::json;

std::string StringField(const json& obj, std::string_view key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

}  // namespace

CommandStatus RunMutate(const std::vector<std::string>& args) {
  Flags flags(
      "irsa-webhook mutate --config FILE -f INPUT [--service-account SA_FILE] [--namespace NS] "
      "[-o yaml|json|patch|review]\n\nRuns one Pod, ServiceAccount or PerconaServerMongoDB "
      "manifest, or a "
      "whole AdmissionReview, through the exact code path of `serve` and prints the "
      "result.\nWarnings go "
      "to stderr.",
      {{"config", "", false, "FILE",
        "injection config (YAML or JSON); built-in defaults when absent", ""},
       {"filename", "f", false, "INPUT", "manifest or AdmissionReview, YAML or JSON; - for stdin",
        ""},
       {"service-account", "", false, "SA_FILE",
        "the pod's ServiceAccount object (what the server's cache would hold)", ""},
       {"namespace", "n", false, "NS",
        "namespace of a bare manifest (else metadata.namespace, else default)", ""},
       {"output", "o", false, "FORMAT",
        "yaml | json (the mutated object), patch (JSON Patch), review (AdmissionReview response)",
        "yaml"}});
  if (auto done = ParseCommandLine(flags, args)) return *done;
  if (!flags.Has("filename")) return CommandStatus::Usage("-f INPUT is required (- for stdin)");
  const std::string output = flags.Get("output");
  if (output != "yaml" && output != "json" && output != "patch" && output != "review") {
    return CommandStatus::Usage("-o must be yaml, json, patch or review, not \"" + output + "\"");
  }

  auto loaded = LoadConfigFlag(flags);
  if (!loaded.ok()) return CommandStatus::Runtime(loaded.error());
  const Config config = std::move(loaded).value();
  auto input = LoadDocumentFile(flags.Get("filename"));
  if (!input.ok()) return CommandStatus::Runtime(input.error());
  const std::string input_name = flags.Get("filename") == "-" ? "stdin" : flags.Get("filename");

  Result<AdmissionRequest> request = Status::Ok();
  if (StringField(*input, "kind") == kAdmissionReviewKind) {
    request = DecodeParsedAdmissionReview(std::move(input).value());
  } else {
    request = RequestFromManifest(std::move(input).value(), flags.Get("namespace"));
  }
  if (!request.ok()) return CommandStatus::Runtime(input_name + ": " + request.error());

  StaticServiceAccountLookup service_accounts;
  if (flags.Has("service-account")) {
    const std::string sa_file = flags.Get("service-account");
    auto sa_doc = LoadDocumentFile(sa_file);
    if (!sa_doc.ok()) return CommandStatus::Runtime(sa_doc.error());
    if (StringField(*sa_doc, "kind") != "ServiceAccount") {
      return CommandStatus::Runtime(sa_file + ": not a ServiceAccount (kind: \"" +
                                    StringField(*sa_doc, "kind") + "\")");
    }
    auto sa = ReadServiceAccount(*sa_doc, config.annotation_prefix);
    if (!sa.ok()) return CommandStatus::Runtime(sa_file + ": " + sa.error());
    if (sa->ns.empty()) sa->ns = request->ns.empty() ? "default" : request->ns;
    service_accounts.Add(std::move(sa).value());
  }

  const AdmissionResult result = Admit(config, *request, &service_accounts);
  if (result.mutation.outcome == Outcome::kError) {
    return CommandStatus::Runtime(input_name + ": " + result.mutation.reason);
  }
  for (const auto& warning : result.mutation.warnings) std::cerr << "Warning: " << warning << "\n";
  // What happened and why, as the server logs it: the first thing to read when a pod was not
  // injected. stdout stays the requested output only.
  std::cerr << "Note: " << request->kind << " " << result.ns << "/" << result.object_name << ": "
            << OutcomeName(result.mutation.outcome) << " (" << result.mutation.reason << ")";
  if (!result.mutation.role_arn.empty()) std::cerr << ", role " << result.mutation.role_arn;
  if (!result.mutation.binding.empty())
    std::cerr << ", binding \"" << result.mutation.binding << "\"";
  std::cerr << "\n";

  if (output == "patch") {
    std::cout << result.mutation.patch.operations().dump(2) << "\n";
  } else if (output == "review") {
    std::cout << EncodeAdmissionResponse(*request, result.mutation) << "\n";
  } else {
    json object = request->object;
    if (!result.mutation.patch.empty()) {
      try {
        object = object.patch(result.mutation.patch.operations());
      } catch (const json::exception& e) {
        return CommandStatus::Runtime(input_name +
                                      ": internal error: patch does not apply: " + e.what());
      }
    }
    std::cout << (output == "json" ? object.dump(2) + "\n" : ToYaml(object));
  }
  return CommandStatus::Ok();
}

}  // namespace irsa::cli
