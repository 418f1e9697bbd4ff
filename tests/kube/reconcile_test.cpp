// reconcile against the fake API server: the planner (kube::Reconcile) and the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <map>
#include <set>

#include "fake_kube_api_process.h"
#include "irsa/config.h"
#include "irsa/document.h"
#include "kube/reconciler.h"
#include "kube/restart_strategy.h"

namespace irsa::kube {
namespace {

using nlohmann::json;
using testing::FakeKubeApiProcess;
using testing::TestDataDir;

constexpr const char* kRole = "arn:aws:iam::111122223333:role/apps";
constexpr const char* kRoleKey = "eks.amazonaws.com/role-arn";

const ReconcileAction* FindAction(const ReconcileReport& report, const std::string& kind,
                                  const std::string& ns, const std::string& name) {
  for (const auto& a : report.actions) {
    if (a.kind == kind && a.ns == ns && a.name == name) return &a;
  }
  return nullptr;
}

std::string ResultOf(const ReconcileReport& report, const std::string& kind, const std::string& ns,
                     const std::string& name) {
  const ReconcileAction* a = FindAction(report, kind, ns, name);
  return a == nullptr ? "<none>" : a->result;
}

std::size_t CountMethod(const json& requests, const std::string& method) {
  std::size_t n = 0;
  for (const auto& r : requests) n += r["method"] == method ? 1 : 0;
  return n;
}

class ReconcileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Start());
    auto config = LoadConfigFile(TestDataDir() + "/reconcile-config.yaml");
    ASSERT_TRUE(config.ok()) << config.error();
    config_ = std::move(config).value();
    auto client = KubeClient::Create(api_.Config());
    ASSERT_TRUE(client.ok()) << client.error();
    client_ = std::move(client).value();
  }

  ReconcileReport Run(bool dry_run, bool restart) {
    ReconcileOptions options;
    options.dry_run = dry_run;
    options.restart_workloads = restart;
    options.restarted_at = "2025-06-01T12:00:00Z";
    return Reconcile(config_, *client_, options);
  }

  FakeKubeApiProcess api_{TestDataDir() + "/reconcile-cluster.yaml"};
  Config config_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(ReconcileTest, AnnotatesNamedServiceAccountsAndLeavesConflictsAlone) {
  const ReconcileReport report = Run(false, false);
  EXPECT_FALSE(report.failed());
  for (const char* name : {"app", "daemon-sa", "db-sa", "batch-sa"}) {
    EXPECT_EQ(ResultOf(report, "ServiceAccount", "apps", name), result::kAnnotated) << name;
    const json sa = api_.Object("serviceaccounts", "apps", name);
    EXPECT_EQ(sa["metadata"]["annotations"][kRoleKey], kRole) << name;
  }
  // Other annotations survive the merge patch.
  EXPECT_EQ(api_.Object("serviceaccounts", "apps",
                        "app")["metadata"]["annotations"]["unrelated.example.com/note"],
            "kept");

  EXPECT_EQ(ResultOf(report, "ServiceAccount", "apps", "conflicting"), result::kConflict);
  EXPECT_NE(
      FindAction(report, "ServiceAccount", "apps", "conflicting")->message.find("someone-else"),
      std::string::npos);
  EXPECT_EQ(
      api_.Object("serviceaccounts", "apps", "conflicting")["metadata"]["annotations"][kRoleKey],
      "arn:aws:iam::999999999999:role/someone-else");

  EXPECT_EQ(ResultOf(report, "ServiceAccount", "apps", "missing-sa"), result::kNotFound);
  // Not named by a binding, or in another namespace: untouched.
  EXPECT_EQ(FindAction(report, "ServiceAccount", "apps", "default"), nullptr);
  EXPECT_FALSE(api_.Object("serviceaccounts", "other", "app")["metadata"].contains("annotations"));
  // Without --restart-workloads nothing else is touched.
  for (const auto& p : api_.Patches()) EXPECT_EQ(p["resource"], "serviceaccounts");

  // Idempotent: a second run changes nothing.
  const std::size_t patches = api_.Patches().size();
  const ReconcileReport again = Run(false, false);
  EXPECT_EQ(ResultOf(again, "ServiceAccount", "apps", "app"), result::kAlreadyAnnotated);
  EXPECT_EQ(api_.Patches().size(), patches);
}

TEST_F(ReconcileTest, RestartsEachOwnerOnceAndReportsBarePods) {
  const ReconcileReport report = Run(false, true);
  EXPECT_FALSE(report.failed());
  std::multiset<std::string> restarted;
  for (const auto& p : api_.Patches()) {
    if (p["resource"] == "serviceaccounts") continue;
    restarted.insert(p["resource"].get<std::string>() + "/" + p["name"].get<std::string>());
    EXPECT_EQ(p["patchType"], "strategic-merge");
    EXPECT_EQ(p["patch"]["spec"]["template"]["metadata"]["annotations"]
               ["kubectl.kubernetes.io/restartedAt"],
              "2025-06-01T12:00:00Z");
  }
  // Two pods each, one restart each; the already-injected Deployment is not rolled.
  EXPECT_EQ(restarted,
            (std::multiset<std::string>{"deployments/web", "statefulsets/db", "daemonsets/agent"}));
  EXPECT_EQ(ResultOf(report, "Deployment", "apps", "web"), result::kRestarted);
  EXPECT_EQ(ResultOf(report, "StatefulSet", "apps", "db"), result::kRestarted);
  EXPECT_EQ(ResultOf(report, "DaemonSet", "apps", "agent"), result::kRestarted);
  EXPECT_EQ(FindAction(report, "Deployment", "apps", "injected"), nullptr);

  EXPECT_EQ(ResultOf(report, "Pod", "apps", "debug"), result::kBarePod);
  EXPECT_EQ(ResultOf(report, "Pod", "apps", "migrate-7xk2p"), result::kUnsupportedOwner);
  EXPECT_EQ(FindAction(report, "Pod", "apps", "migrate-old"),
            nullptr);  // Succeeded: nothing to roll
  EXPECT_EQ(FindAction(report, "Pod", "other", "elsewhere"), nullptr);  // no binding covers it
  // Pods are never deleted.
  EXPECT_EQ(CountMethod(api_.Requests(), "DELETE"), 0u);
  EXPECT_FALSE(api_.Object("pods", "apps", "debug").is_null());
}

TEST_F(ReconcileTest, DryRunChangesNothingAndPrintsTheSamePlan) {
  const ReconcileReport dry = Run(true, true);
  EXPECT_TRUE(dry.dry_run);
  EXPECT_EQ(CountMethod(api_.Requests(), "PATCH"), 0u);
  EXPECT_TRUE(api_.Patches().empty());
  EXPECT_FALSE(
      api_.Object("serviceaccounts", "apps", "app")["metadata"]["annotations"].contains(kRoleKey));

  const ReconcileReport real = Run(false, true);
  ASSERT_EQ(dry.actions.size(), real.actions.size());
  for (std::size_t i = 0; i < dry.actions.size(); ++i) {
    const auto& d = dry.actions[i];
    const auto& r = real.actions[i];
    EXPECT_EQ(d.kind + " " + d.ns + "/" + d.name + " " + d.action,
              r.kind + " " + r.ns + "/" + r.name + " " + r.action);
    std::string expected = d.result;
    if (expected == result::kWouldAnnotate) expected = result::kAnnotated;
    if (expected == result::kWouldRestart) expected = result::kRestarted;
    EXPECT_EQ(expected, r.result) << d.kind << " " << d.name;
  }
}

TEST_F(ReconcileTest, ApiErrorIsSurfacedWithTheStatusMessage) {
  const std::string message =
      "serviceaccounts \"db-sa\" is forbidden: User \"system:serviceaccount:irsa:reconcile\" "
      "cannot patch "
      "resource \"serviceaccounts\" in API group \"\" in the namespace \"apps\"";
  api_.Control("POST", "/fake/fail",
               {{"method", "PATCH"},
                {"path", "/api/v1/namespaces/apps/serviceaccounts/db-sa"},
                {"code", 403},
                {"message", message}});
  const ReconcileReport report = Run(false, false);
  EXPECT_TRUE(report.failed());
  const ReconcileAction* failed = FindAction(report, "ServiceAccount", "apps", "db-sa");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->result, result::kFailed);
  EXPECT_NE(failed->message.find(message), std::string::npos) << failed->message;
  EXPECT_NE(failed->message.find("403"), std::string::npos) << failed->message;
  // One failure does not stop the others.
  EXPECT_EQ(ResultOf(report, "ServiceAccount", "apps", "app"), result::kAnnotated);
}

TEST_F(ReconcileTest, ListFailureIsReportedAndNothingIsGuessed) {
  api_.Control("POST", "/fake/fail",
               {{"method", "GET"},
                {"path", "/api/v1/namespaces/apps/serviceaccounts"},
                {"code", 403},
                {"message", "serviceaccounts is forbidden: cannot list"}});
  const ReconcileReport report = Run(false, false);
  EXPECT_TRUE(report.failed());
  EXPECT_EQ(ResultOf(report, "ServiceAccount", "apps", ""), result::kFailed);
  EXPECT_EQ(FindAction(report, "ServiceAccount", "apps", "missing-sa"),
            nullptr);  // unknown, not "missing"
  EXPECT_TRUE(api_.Patches().empty());
}

TEST_F(ReconcileTest, ConcurrentChangeIsAConflictNotAnOverwrite) {
  // The patch carries the resourceVersion read by the list: a change in between is a 409.
  api_.Control("POST", "/fake/fail",
               {{"method", "PATCH"},
                {"path", "/api/v1/namespaces/apps/serviceaccounts/app"},
                {"code", 409},
                {"message", "the object has been modified"},
                {"count", 1}});
  const ReconcileReport report = Run(false, false);
  const ReconcileAction* app = FindAction(report, "ServiceAccount", "apps", "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->result, result::kFailed);
  EXPECT_NE(app->message.find("run reconcile again"), std::string::npos) << app->message;
}

TEST_F(ReconcileTest, WildcardNamespacesListClusterWide) {
  auto config = ParseConfig(
      json::parse(R"({"bindings": [{"name": "all", "roleArn": "arn:aws:iam::111122223333:role/all",
      "namespaces": ["*"], "serviceAccounts": ["app", "nowhere"]}]})"),
      "inline");
  ASSERT_TRUE(config.ok()) << config.error();
  ReconcileOptions options;
  options.dry_run = true;
  const ReconcileReport report = Reconcile(*config, *client_, options);
  EXPECT_EQ(ResultOf(report, "ServiceAccount", "apps", "app"), result::kWouldAnnotate);
  EXPECT_EQ(ResultOf(report, "ServiceAccount", "other", "app"), result::kWouldAnnotate);
  EXPECT_EQ(ResultOf(report, "ServiceAccount", "*", "nowhere"), result::kNotFound);
  bool cluster_list = false;
  for (const auto& r : api_.Requests()) cluster_list |= r["path"] == "/api/v1/serviceaccounts";
  EXPECT_TRUE(cluster_list);
}

TEST_F(ReconcileTest, LintAdviceIsReportedAsWarnings) {
  auto config = LoadConfigFile(std::string(IRSA_EXAMPLES_DIR) + "/config.yaml");
  ASSERT_TRUE(config.ok()) << config.error();
  ReconcileOptions options;
  options.dry_run = true;
  const ReconcileReport report = Reconcile(*config, *client_, options);
  EXPECT_GE(report.Count(result::kWarning), 1u);
  EXPECT_FALSE(report.failed());
}

// --- the binary ---

struct CommandResult {
  int exit_code;
  std::string out;
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result{-1, ""};
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe))
    result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST_F(ReconcileTest, BinaryPrintsJsonAndExitsOneOnApiErrors) {
  // The API server injects dry-run pods (reconcile proves that before restarting anything).
  api_.Control("POST", "/fake/options",
               {{"admissionConfig", TestDataDir() + "/reconcile-config.yaml"}});
  const std::string base = std::string(IRSA_WEBHOOK_PATH) + " reconcile --config " + TestDataDir() +
                           "/reconcile-config.yaml --kubeconfig " + api_.WriteKubeconfig();
  const CommandResult dry = RunCommand(base + " --dry-run --restart-workloads -o json");
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  const json parsed = json::parse(dry.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << dry.out;
  EXPECT_EQ(parsed["dryRun"], true);
  EXPECT_EQ(parsed["failed"], false);
  ASSERT_TRUE(parsed["actions"].is_array());
  for (const auto& a : parsed["actions"]) {
    for (const char* field : {"kind", "namespace", "name", "action", "result", "message"}) {
      EXPECT_TRUE(a.contains(field)) << a.dump();
    }
  }
  EXPECT_TRUE(api_.Patches().empty());

  api_.Control("POST", "/fake/fail",
               {{"method", "PATCH"},
                {"path", "/apis/apps/v1/namespaces/apps/statefulsets/db"},
                {"code", 403},
                {"message", "statefulsets.apps \"db\" is forbidden: no patch"}});
  const CommandResult failed = RunCommand(base + " --restart-workloads");
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_NE(failed.out.find("statefulsets.apps \"db\" is forbidden: no patch"), std::string::npos)
      << failed.out;
  EXPECT_NE(failed.out.find("1 step(s) failed"), std::string::npos) << failed.out;

  EXPECT_EQ(RunCommand(base + " -o yaml").exit_code, 2);
  EXPECT_EQ(RunCommand(std::string(IRSA_WEBHOOK_PATH) + " reconcile --kubeconfig /no/such/file")
                .exit_code,
            1);
}

TEST(ReconcilePerconaTest, RollsTheOperatorAndRs0OnceAndNotTheArbiter) {
  FakeKubeApiProcess api(TestDataDir() + "/percona-cluster.yaml");
  ASSERT_TRUE(api.Start());
  auto config = LoadConfigFile(std::string(IRSA_EXAMPLES_DIR) + "/config.yaml");
  ASSERT_TRUE(config.ok()) << config.error();
  auto client = KubeClient::Create(api.Config());
  ASSERT_TRUE(client.ok());
  ReconcileOptions options;
  options.restart_workloads = true;
  const ReconcileReport report = Reconcile(*config, **client, options);
  EXPECT_FALSE(report.failed());
  std::multiset<std::string> patched;
  for (const auto& p : api.Patches())
    patched.insert(p["resource"].get<std::string>() + "/" + p["name"].get<std::string>());
  // rs0 is OnDelete under the operator's SmartUpdate: patched, and the operator restarts it.
  EXPECT_EQ(ResultOf(report, "StatefulSet", "psmdb", "my-cluster-name-rs0"), result::kRestarted);
  EXPECT_EQ(FindAction(report, "StatefulSet", "psmdb", "my-cluster-name-rs0")->restarted_by,
            "percona-smartupdate");
  EXPECT_EQ(patched, (std::multiset<std::string>{"serviceaccounts/percona-server-mongodb-operator",
                                                 "serviceaccounts/default",
                                                 "deployments/percona-server-mongodb-operator",
                                                 "statefulsets/my-cluster-name-rs0"}));
}

// Who restarts what (docs/reference.md section 7), on one namespace holding each shape.
class ReconcileStrategyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Start());
    auto config = LoadConfigFile(std::string(IRSA_EXAMPLES_DIR) + "/config.yaml");
    ASSERT_TRUE(config.ok()) << config.error();
    config_ = std::move(config).value();
    auto client = KubeClient::Create(api_.Config());
    ASSERT_TRUE(client.ok()) << client.error();
    client_ = std::move(client).value();
  }

  ReconcileReport Run(bool dry_run) {
    ReconcileOptions options;
    options.dry_run = dry_run;
    options.restart_workloads = true;
    options.restarted_at = "2025-06-01T12:00:00Z";
    return Reconcile(config_, *client_, options);
  }

  std::set<std::string> PatchedWorkloads() {
    std::set<std::string> patched;
    for (const auto& p : api_.Patches()) {
      if (p["resource"] != "serviceaccounts") patched.insert(p["name"].get<std::string>());
    }
    return patched;
  }

  FakeKubeApiProcess api_{TestDataDir() + "/update-strategies.yaml"};
  Config config_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(ReconcileStrategyTest, SmartUpdateAndRollingArePatchedOnDeleteIsListed) {
  const ReconcileReport report = Run(false);
  EXPECT_FALSE(report.failed());
  EXPECT_EQ(PatchedWorkloads(),
            (std::set<std::string>{"smart-rs0", "defaulted-rs0", "rolling-rs0"}));

  const ReconcileAction* smart = FindAction(report, "StatefulSet", "psmdb", "smart-rs0");
  ASSERT_NE(smart, nullptr);
  EXPECT_EQ(smart->result, result::kRestarted);
  EXPECT_EQ(smart->restarted_by, "percona-smartupdate");
  EXPECT_EQ(smart->pods, (std::vector<std::string>{"smart-rs0-0", "smart-rs0-1"}));
  const ReconcileAction* defaulted = FindAction(report, "StatefulSet", "psmdb", "defaulted-rs0");
  ASSERT_NE(defaulted, nullptr);
  EXPECT_EQ(defaulted->restarted_by, "percona-smartupdate");
  const ReconcileAction* rolling = FindAction(report, "StatefulSet", "psmdb", "rolling-rs0");
  ASSERT_NE(rolling, nullptr);
  EXPECT_EQ(rolling->result, result::kRestarted);
  EXPECT_EQ(rolling->restarted_by, "statefulset-controller");

  for (const char* name : {"manual-rs0", "orphan-rs0", "plain-rs0"}) {
    const ReconcileAction* a = FindAction(report, "StatefulSet", "psmdb", name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->result, result::kOnDelete) << name;
    EXPECT_TRUE(a->restarted_by.empty()) << name;
    EXPECT_NE(a->message.find("kubectl delete pod -n psmdb " + std::string(name) + "-0"),
              std::string::npos)
        << a->message;
  }
  EXPECT_EQ(FindAction(report, "StatefulSet", "psmdb", "manual-rs0")->pods,
            (std::vector<std::string>{"manual-rs0-0", "manual-rs0-1"}));
  EXPECT_NE(
      FindAction(report, "StatefulSet", "psmdb", "orphan-rs0")->message.find("does not exist"),
      std::string::npos);
  EXPECT_EQ(CountMethod(api_.Requests(), "DELETE"), 0u);
}

TEST_F(ReconcileStrategyTest, UnreadableClusterFailsInsteadOfGuessing) {
  api_.Control("POST", "/fake/fail",
               {{"method", "GET"},
                {"path", "/apis/psmdb.percona.com/v1/namespaces/psmdb/perconaservermongodbs/smart"},
                {"code", 403},
                {"message", "perconaservermongodbs.psmdb.percona.com \"smart\" is forbidden"}});
  const ReconcileReport report = Run(false);
  EXPECT_TRUE(report.failed());
  EXPECT_EQ(ResultOf(report, "StatefulSet", "psmdb", "smart-rs0"), result::kFailed);
  EXPECT_EQ(PatchedWorkloads().count("smart-rs0"), 0u);
  EXPECT_EQ(ResultOf(report, "StatefulSet", "psmdb", "rolling-rs0"), result::kRestarted);
}

TEST_F(ReconcileStrategyTest, BinaryDryRunJsonAndTextShowTheThreeOutcomes) {
  // The API server injects dry-run pods (reconcile proves that before restarting anything).
  api_.Control("POST", "/fake/options",
               {{"admissionConfig", std::string(IRSA_EXAMPLES_DIR) + "/config.yaml"}});
  const std::string base = std::string(IRSA_WEBHOOK_PATH) + " reconcile --config " +
                           IRSA_EXAMPLES_DIR + "/config.yaml --kubeconfig " +
                           api_.WriteKubeconfig() + " --dry-run --restart-workloads";
  const CommandResult dry = RunCommand(base + " -o json");
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  // RunCommand merges stderr (the config lint warnings, one line each) before the JSON.
  const json parsed =
      json::parse(dry.out.substr(std::min(dry.out.find("\n{"), dry.out.size())), nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << dry.out;
  std::map<std::string, json> by_name;
  for (const auto& a : parsed["actions"]) by_name[a["name"].get<std::string>()] = a;
  EXPECT_EQ(by_name["rolling-rs0"]["result"], "would-restart");
  EXPECT_EQ(by_name["rolling-rs0"]["restartedBy"], "statefulset-controller");
  EXPECT_EQ(by_name["smart-rs0"]["result"], "would-restart");
  EXPECT_EQ(by_name["smart-rs0"]["restartedBy"], "percona-smartupdate");
  EXPECT_EQ(by_name["smart-rs0"]["pods"], json({"smart-rs0-0", "smart-rs0-1"}));
  EXPECT_EQ(by_name["manual-rs0"]["result"], "on-delete");
  EXPECT_FALSE(by_name["manual-rs0"].contains("restartedBy"));
  EXPECT_EQ(by_name["manual-rs0"]["pods"], json({"manual-rs0-0", "manual-rs0-1"}));
  EXPECT_TRUE(api_.Patches().empty());

  const CommandResult text = RunCommand(base);
  ASSERT_EQ(text.exit_code, 0) << text.out;
  for (const char* line :
       {"StatefulSet psmdb/smart-rs0: would-restart (by the Percona operator's SmartUpdate): ",
        "StatefulSet psmdb/rolling-rs0: would-restart (by the StatefulSet controller): ",
        "StatefulSet psmdb/manual-rs0: on-delete: 2 pods lack injection",
        "3 OnDelete workload(s) whose pods to delete by hand"}) {
    EXPECT_NE(text.out.find(line), std::string::npos) << line << "\n" << text.out;
  }
}

// The decision alone (restart_strategy.h), on the shapes the operator and others create.
struct StrategyCase {
  std::string name;
  std::string kind;
  std::string workload;  // YAML
  std::string cluster;   // YAML of the controlling PerconaServerMongoDB; empty = none
  RestartPath path;
  std::string restarted_by;
};

void PrintTo(const StrategyCase& c, std::ostream* os) { *os << c.name; }

class RestartStrategyTest : public ::testing::TestWithParam<StrategyCase> {};

TEST_P(RestartStrategyTest, DecidesWhoRestartsThePods) {
  const auto& c = GetParam();
  const json workload = ParseDocument(c.workload).value();
  const json cluster = c.cluster.empty() ? json() : ParseDocument(c.cluster).value();
  const RestartPlan plan = PlanRestart(c.kind, workload, c.cluster.empty() ? nullptr : &cluster);
  EXPECT_EQ(plan.path, c.path) << plan.why;
  EXPECT_EQ(plan.restarted_by, c.restarted_by) << plan.why;
  EXPECT_FALSE(plan.why.empty());
}

constexpr const char* kPerconaOnDelete = R"(
metadata:
  ownerReferences: [{apiVersion: psmdb.percona.com/v1, kind: PerconaServerMongoDB, name: c,
                     controller: true}]
spec: {updateStrategy: {type: OnDelete}})";

INSTANTIATE_TEST_SUITE_P(
    Shapes, RestartStrategyTest,
    ::testing::Values(
        StrategyCase{"deployment_default", "Deployment", "{spec: {}}", "", RestartPath::kController,
                     "deployment-controller"},
        StrategyCase{"deployment_recreate", "Deployment", "{spec: {strategy: {type: Recreate}}}",
                     "", RestartPath::kController, "deployment-controller"},
        StrategyCase{"statefulset_default", "StatefulSet", "{spec: {}}", "",
                     RestartPath::kController, "statefulset-controller"},
        StrategyCase{"daemonset_ondelete", "DaemonSet",
                     "{spec: {updateStrategy: {type: OnDelete}}}", "", RestartPath::kOnDelete, ""},
        StrategyCase{"statefulset_ondelete_no_owner", "StatefulSet",
                     "{spec: {updateStrategy: {type: OnDelete}}}", "", RestartPath::kOnDelete, ""},
        StrategyCase{"percona_smartupdate", "StatefulSet", kPerconaOnDelete,
                     "{spec: {updateStrategy: SmartUpdate}}", RestartPath::kPerconaSmartUpdate,
                     "percona-smartupdate"},
        StrategyCase{"percona_default_is_smartupdate", "StatefulSet", kPerconaOnDelete,
                     "{spec: {}}", RestartPath::kPerconaSmartUpdate, "percona-smartupdate"},
        StrategyCase{"percona_ondelete", "StatefulSet", kPerconaOnDelete,
                     "{spec: {updateStrategy: OnDelete}}", RestartPath::kOnDelete, ""},
        StrategyCase{"percona_unmanaged", "StatefulSet", kPerconaOnDelete,
                     "{spec: {unmanaged: true, updateStrategy: SmartUpdate}}",
                     RestartPath::kOnDelete, ""},
        StrategyCase{"percona_cluster_gone", "StatefulSet", kPerconaOnDelete, "",
                     RestartPath::kOnDelete, ""},
        StrategyCase{"percona_rollingupdate", "StatefulSet",
                     R"({metadata: {ownerReferences: [{apiVersion: psmdb.percona.com/v1,
                         kind: PerconaServerMongoDB, name: c, controller: true}]},
                         spec: {updateStrategy: {type: RollingUpdate}}})",
                     "", RestartPath::kController, "statefulset-controller"}),
    [](const auto& p) { return p.param.name; });

TEST(RestartStrategyTest, OnlyAControllingPerconaClusterCounts) {
  EXPECT_EQ(PerconaController(ParseDocument(kPerconaOnDelete).value()), "c");
  EXPECT_FALSE(NeedsPerconaCluster("StatefulSet", ParseDocument(R"(
metadata:
  ownerReferences: [{apiVersion: psmdb.percona.com/v1, kind: PerconaServerMongoDB, name: c}]
spec: {updateStrategy: {type: OnDelete}})")
                                                      .value()));
  EXPECT_FALSE(PerconaController(ParseDocument(R"(
metadata:
  ownerReferences: [{apiVersion: example.com/v1, kind: PerconaServerMongoDB, name: c,
                     controller: true}]
)")
                                     .value())
                   .has_value());
}

}  // namespace
}  // namespace irsa::kube
