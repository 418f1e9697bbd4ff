#include "check_command.h"

#include <iostream>

#include "flags.h"
#include "irsa/config.h"
#include "irsa/text.h"
#include "kube/injection_check.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"

namespace irsa::cli {
namespace {

using nlohmann::json;
namespace st = kube::check_status;
namespace sec = kube::check_section;

json ReportJson(const kube::CheckReport& report) {
  json items = json::array();
  for (const auto& i : report.items) {
    json item = {{"section", i.section}, {"kind", i.kind},     {"namespace", i.ns},
                 {"name", i.name},       {"status", i.status}, {"binding", i.binding},
                 {"message", i.message}};
    if (!i.state.empty()) item["state"] = i.state;
    if (!i.phase.empty()) item["phase"] = i.phase;
    items.push_back(std::move(item));
  }
  return {{"ok", report.ok()}, {"source", report.source}, {"items", std::move(items)}};
}

std::string Label(const std::string& status) {
  if (status == st::kProblem) return "PROBLEM ";
  if (status == st::kUnproven) return "UNPROVEN";
  if (status == st::kWarning) return "warning ";
  return "ok      ";
}

void PrintSection(const kube::CheckReport& report, std::string_view section, std::string_view title,
                  std::string_view none, std::ostream& out) {
  out << "\n" << title << "\n";
  bool any = false;
  for (const auto& i : report.items) {
    if (i.section != section) continue;
    any = true;
    out << "  " << Label(i.status) << "  ";
    if (section == sec::kPods) {
      out << i.ns << "/" << i.name << " (" << (i.phase.empty() ? "?" : i.phase)
          << (i.binding.empty() ? "" : ", binding " + Quote(i.binding)) << "): " << i.state << ": ";
    } else if (section == sec::kDryRun) {
      out << "binding \"" << i.binding << "\": ";
    } else if (!i.ns.empty() || !i.name.empty()) {
      out << i.kind << " " << i.ns << (i.name.empty() ? "" : "/" + i.name) << ": ";
    }
    out << i.message << "\n";
  }
  if (!any) out << "  " << none << "\n";
}

void PrintText(const kube::CheckReport& report, std::ostream& out) {
  out << "Checking irsa-webhook through " << report.source << "\n";
  PrintSection(report, sec::kConfig, "Config", "no advice", out);
  PrintSection(report, sec::kDryRun, "Dry-run admission (dryRun=All: nothing is stored)",
               "nothing to probe", out);
  PrintSection(report, sec::kPods, "Pods the bindings select", "none running", out);
  PrintSection(report, sec::kServiceAccounts, "ServiceAccounts", "none annotated or named", out);
  PrintSection(report, sec::kPercona, "PerconaServerMongoDB", "none (or the CRD is not installed)",
               out);
  const std::size_t problems = report.Count("", st::kProblem);
  const std::size_t unproven = report.Count("", st::kUnproven);
  const std::size_t warnings = report.Count("", st::kWarning);
  out << "\nResult: "
      << (report.ok()
              ? std::string("all is well")
              : std::to_string(problems) + " problem(s), " + std::to_string(unproven) + " unproven")
      << ", " << warnings << " warning(s)\n";
}

}  // namespace

CommandStatus RunCheck(const std::vector<std::string>& args) {
  Flags flags(
      "irsa-webhook check [--config F] [--kubeconfig F] [-o text|json]\n\n"
      "Read-only end-to-end verification through the API server:\n"
      "  1. for each namespace a binding covers, a server-side dry-run (dryRun=All: nothing is\n"
      "     stored) of a pod shaped like the binding's target must come back injected, and a\n"
      "     ServiceAccount the binding names must come back annotated;\n"
      "  2. the pods the bindings select: injected, or why not (started before the webhook,\n"
      "     restart pending, skip label, conflict);\n"
      "  3. the ServiceAccounts the bindings name and PerconaServerMongoDB warnings.\n"
      "When a dry-run comes back unchanged, the MutatingWebhookConfigurations, their Service or\n"
      "URL are read to say why. Exits 0 only when all is well, else 1 (warnings do not count).\n"
      "RBAC it needs: docs/check.md.\n\n"
      "Kubernetes access: --kubeconfig, else in-cluster config, else $KUBECONFIG, else "
      "~/.kube/config.",
      {{"config", "", false, "FILE", "the webhook's injection config (YAML or JSON)", ""},
       {"kubeconfig", "", false, "FILE", "kubeconfig to use (current-context)", ""},
       {"output", "o", false, "FORMAT", "text (for people) or json (for machines)", "text"}});
  if (auto done = ParseCommandLine(flags, args)) return *done;
  const std::string output = flags.Get("output");
  if (output != "text" && output != "json") {
    return CommandStatus::Usage("-o must be text or json, not " + Quote(output));
  }
  auto loaded = LoadConfigFlag(flags);
  if (!loaded.ok()) return CommandStatus::Runtime(loaded.error());
  const Config config = std::move(loaded).value();
  auto kube_config = kube::ResolveKubeConfigForCli(flags.Get("kubeconfig"));
  if (!kube_config.ok()) return CommandStatus::Runtime(kube_config.error());
  auto client = kube::KubeClient::Create(*kube_config);
  if (!client.ok()) return CommandStatus::Runtime(client.error());

  // One request first: unusable credentials (a failing exec plugin, a refused token) or an
  // unreachable API server are one line, not a report full of the same error.
  auto version = (*client)->Get("/version");
  if (!version.ok()) return CommandStatus::Runtime(version.error());

  const kube::CheckReport report = kube::CheckInjection(config, **client);
  if (output == "json") {
    std::cout << ReportJson(report).dump(2) << "\n";
  } else {
    PrintText(report, std::cout);
  }
  if (!report.ok()) {
    return CommandStatus::Runtime(
        "check failed: " + std::to_string(report.Count("", st::kProblem)) + " problem(s), " +
        std::to_string(report.Count("", st::kUnproven)) + " unproven (see above)");
  }
  return CommandStatus::Ok();
}

}  // namespace irsa::cli
