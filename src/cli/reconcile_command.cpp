#include "reconcile_command.h"

#include <iostream>
#include <map>

#include "flags.h"
#include "irsa/config.h"
#include "irsa/text.h"
#include "kube/injection_check.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/reconciler.h"
#include "kube/restart_strategy.h"
#include "kube/revert.h"

namespace irsa::cli {
namespace {

using nlohmann::json;

json ReportJson(const kube::ReconcileReport& report) {
  json actions = json::array();
  for (const auto& a : report.actions) {
    json action = {{"kind", a.kind},     {"namespace", a.ns},  {"name", a.name},
                   {"action", a.action}, {"result", a.result}, {"message", a.message}};
    if (!a.restarted_by.empty()) action["restartedBy"] = a.restarted_by;
    if (!a.pods.empty()) action["pods"] = a.pods;
    actions.push_back(std::move(action));
  }
  return {{"dryRun", report.dry_run}, {"failed", report.failed()}, {"actions", std::move(actions)}};
}

void PrintText(const kube::ReconcileReport& report, std::ostream& out) {
  for (const auto& a : report.actions) {
    if (a.result == kube::result::kWarning) continue;  // on stderr
    std::string target = a.ns.empty() ? a.name : a.name.empty() ? a.ns : a.ns + "/" + a.name;
    if (a.action == "list")
      target = "list in " + (a.ns == "*" ? std::string("all namespaces") : a.ns);
    out << a.kind << " " << target << ": " << a.result;
    if (!a.restarted_by.empty()) out << " (by " << kube::RestarterText(a.restarted_by) << ")";
    if (!a.message.empty()) out << ": " << a.message;
    out << "\n";
  }
  namespace r = kube::result;
  const bool dry = report.dry_run;
  out << "Summary: " << report.Count(dry ? r::kWouldAnnotate : r::kAnnotated)
      << " ServiceAccount(s) " << (dry ? "to annotate" : "annotated") << ", "
      << report.Count(r::kAlreadyAnnotated) << " already annotated, " << report.Count(r::kConflict)
      << " conflict(s), " << report.Count(r::kNotFound) << " missing, "
      << report.Count(dry ? r::kWouldRestart : r::kRestarted) << " workload(s) "
      << (dry ? "to restart" : "restarted") << ", " << report.Count(r::kOnDelete)
      << " OnDelete workload(s) whose pods to delete by hand, " << report.Count(r::kBarePod)
      << " bare pod(s), " << report.Count(r::kUnsupportedOwner) << " unsupported owner(s), "
      << report.Count(r::kFailed) << " failed" << (dry ? " (dry run: nothing was changed)" : "")
      << "\n";
}

// Before any restart, the path through the API server is proven as `check` proves it: a
// restarted pod that the API server does not send to the webhook comes back uninjected (with
// failurePolicy Ignore, silently). Returns the failures (printed to `err`); none = proven.
std::size_t ProveBeforeRestart(const Config& config, const kube::KubeClient& client,
                               std::ostream& err) {
  std::size_t failures = 0;
  for (const auto& item : kube::ProveAdmission(config, client, kube::ProofScope::kPods)) {
    if (item.status == kube::check_status::kProblem) {
      ++failures;
      err << "Error: " << item.message << "\n";
    } else if (item.status == kube::check_status::kUnproven) {
      err << "Note: " << item.message << "\n";
    }
  }
  return failures;
}

// `--revert`: the report of kube::Revert, text or JSON.
CommandStatus RunRevert(const Config& config, const kube::KubeClient& client, bool dry_run,
                        const std::string& output, const std::string& source) {
  kube::RevertOptions options;
  options.dry_run = dry_run;
  const kube::ReconcileReport report = kube::Revert(config, client, options);
  if (output == "json") {
    std::cout << ReportJson(report).dump(2) << "\n";
  } else {
    std::cout << "Reverting with " << source << (dry_run ? " (dry run)" : "") << "\n";
    for (const auto& a : report.actions) {
      std::cout << "ServiceAccount " << (a.name.empty() ? "list in " + a.ns : a.ns + "/" + a.name)
                << ": " << a.result << ": " << a.message << "\n";
    }
    namespace r = kube::result;
    std::cout << "Summary: " << report.Count(dry_run ? r::kWouldRevert : r::kReverted)
              << " ServiceAccount(s) " << (dry_run ? "to revert" : "reverted") << ", "
              << report.Count(dry_run ? r::kWouldKeepChanged : r::kKeptChanged)
              << " changed by someone else (their value kept), " << report.Count(r::kFailed)
              << " failed" << (dry_run ? " (dry run: nothing was changed)" : "") << "\n";
  }
  if (report.failed()) {
    return CommandStatus::Runtime(std::to_string(report.Count(kube::result::kFailed)) +
                                  " step(s) failed (see above)");
  }
  return CommandStatus::Ok();
}

}  // namespace

CommandStatus RunReconcile(const std::vector<std::string>& args) {
  Flags flags(
      "irsa-webhook reconcile [--config F] [--kubeconfig F] [--dry-run] [--restart-workloads] [-o "
      "text|json]\n\n"
      "Annotates the existing ServiceAccounts that bindings name (annotateServiceAccounts, "
      "explicit names) with\n"
      "<prefix>/role-arn; leaves a different existing role alone and reports it; reports named "
      "ServiceAccounts\n"
      "that do not exist. With --restart-workloads, also rolls each Deployment, StatefulSet and "
      "DaemonSet\n"
      "owning a pod the config would inject but that lacks injection (once per owner, by setting "
      "the pod\n"
      "template annotation kubectl.kubernetes.io/restartedAt, as `kubectl rollout restart` does). "
      "An\n"
      "OnDelete StatefulSet of a PerconaServerMongoDB with updateStrategy SmartUpdate is restarted "
      "by the\n"
      "operator once its template changes; any other OnDelete workload is not patched: its pods "
      "are\n"
      "listed (on-delete) for you to delete. Pods without a controller are reported, never "
      "deleted.\n"
      "Before restarting anything it proves, as `irsa-webhook check` does, that the API server\n"
      "injects a dry-run pod in each binding namespace; if not, it restarts nothing and exits 1\n"
      "with the reason. Exits 1 if any API call failed.\n\n"
      "Kubernetes access: --kubeconfig, else in-cluster config, else $KUBECONFIG, else "
      "~/.kube/config.",
      {{"config", "", false, "FILE",
        "injection config (YAML or JSON); without it there are no bindings", ""},
       {"kubeconfig", "", false, "FILE", "kubeconfig to use (current-context)", ""},
       {"dry-run", "", true, "", "change nothing; print the same plan", ""},
       {"restart-workloads", "", true, "", "also roll workloads whose pods lack injection", ""},
       {"revert", "", true, "",
        "instead, remove the role-arn annotations this webhook added (marked with "
        "irsa-webhook.io/managed-role-arn); an admin's own or changed value stays",
        ""},
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

  if (flags.Get("revert") == "true") {
    if (flags.Get("restart-workloads") == "true")
      return CommandStatus::Usage("--revert and --restart-workloads do not go together");
    return RunRevert(config, **client, flags.Get("dry-run") == "true", output, kube_config->source);
  }

  kube::ReconcileOptions options;
  options.dry_run = flags.Get("dry-run") == "true";
  options.restart_workloads = flags.Get("restart-workloads") == "true";
  if (config.bindings.empty()) {
    std::cerr << "Warning: no bindings"
              << (flags.Has("config") ? " in " + flags.Get("config") : " (no --config)")
              << ": nothing to reconcile\n";
  }
  std::size_t unproven = 0;
  if (options.restart_workloads) {
    unproven = ProveBeforeRestart(config, **client, std::cerr);
    if (unproven != 0 && !options.dry_run) {
      return CommandStatus::Runtime(
          "restarted nothing: the API server did not inject the dry-run pod (" +
          std::to_string(unproven) +
          " failure(s), see above); restarted pods would come back without credentials. Fix "
          "it, confirm with `irsa-webhook check`, then run reconcile again");
    }
  }
  const kube::ReconcileReport report = kube::Reconcile(config, **client, options);

  for (const auto& a : report.actions) {
    if (a.result == kube::result::kWarning) std::cerr << "Warning: " << a.message << "\n";
  }
  if (output == "json") {
    std::cout << ReportJson(report).dump(2) << "\n";
  } else {
    std::cout << "Reconciling with " << kube_config->source << (options.dry_run ? " (dry run)" : "")
              << "\n";
    PrintText(report, std::cout);
  }
  if (unproven != 0) {
    return CommandStatus::Runtime(
        "the API server did not inject the dry-run pod (see above): without --dry-run nothing "
        "would be restarted");
  }
  if (report.failed()) {
    return CommandStatus::Runtime(
        std::to_string(report.Count(kube::result::kFailed)) +
        " step(s) failed (see above); for 401/403 errors see docs/reconcile.md "
        "(API access and RBAC)");
  }
  return CommandStatus::Ok();
}

}  // namespace irsa::cli
