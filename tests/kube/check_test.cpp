// `check` against the fake API server: dry-run proofs (the fake admits dry-run objects through
// the core's rules when given an admission config, as irsa-webhook would), the diagnosis of a
// failed proof from the webhook configuration, the pods table, read-only behaviour, the binary's
// exit codes, and reconcile's gate.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <set>

#include "fake_kube_api_process.h"
#include "irsa/config.h"
#include "irsa/mutation.h"
#include "kube/injection_check.h"

namespace irsa::kube {
namespace {

using nlohmann::json;
using testing::FakeKubeApiProcess;
using testing::TestDataDir;

constexpr const char* kRole = "arn:aws:iam::111122223333:role/psmdb-backup";

std::string ExampleConfig() { return std::string(IRSA_EXAMPLES_DIR) + "/config.yaml"; }

json Rs0Pod(const std::string& name, const std::string& created, const std::string& revision) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "psmdb"},
            {"creationTimestamp", created},
            {"labels",
             {{"app.kubernetes.io/name", "percona-server-mongodb"},
              {"app.kubernetes.io/component", "mongod"},
              {"controller-revision-hash", revision}}},
            {"annotations", {{"kubectl.kubernetes.io/restartedAt", "2025-06-10T00:00:00Z"}}},
            {"ownerReferences",
             {{{"apiVersion", "apps/v1"},
               {"kind", "StatefulSet"},
               {"name", "my-cluster-name-rs0"},
               {"controller", true}}}}}},
          {"spec",
           {{"serviceAccountName", "default"},
            {"containers",
             {{{"name", "mongod"}, {"image", "percona/percona-server-mongodb:8.0.12-4"}},
              {{"name", "backup-agent"}, {"image", "percona/percona-backup-mongodb:2.11.0"}}}}}},
          {"status", {{"phase", "Running"}}}};
}

// A free local port nothing listens on (bound, then closed).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

const CheckItem* Find(const CheckReport& report, std::string_view section, std::string_view kind,
                      std::string_view name = "") {
  for (const auto& i : report.items) {
    if (i.section == section && i.kind == kind && (name.empty() || i.name == name)) return &i;
  }
  return nullptr;
}

std::string Dump(const CheckReport& report) {
  std::string out;
  for (const auto& i : report.items)
    out += i.section + " " + i.kind + " " + i.ns + "/" + i.name + " " + i.status + " " + i.state +
           ": " + i.message + "\n";
  return out;
}

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.Start());
    auto config = LoadConfigFile(ExampleConfig());
    ASSERT_TRUE(config.ok()) << config.error();
    config_ = std::move(config).value();
    auto client = KubeClient::Create(api_.Config());
    ASSERT_TRUE(client.ok()) << client.error();
    client_ = std::move(client).value();
  }

  void WebhookUp() {
    api_.Control("POST", "/fake/options", {{"admissionConfig", ExampleConfig()}});
  }

  // The pod as the webhook would have created it.
  json Injected(const json& pod) {
    auto m = MutatePod(config_, pod, "psmdb", nullptr);
    EXPECT_TRUE(m.ok());
    return pod.patch(json::parse(m->patch.Serialize()));
  }

  void Apply(const json& object) { api_.Control("POST", "/fake/apply", object); }

  void SetWebhook(const json& client_config) {
    json hook = api_.Object("mutatingwebhookconfigurations", "", "irsa-webhook");
    hook["webhooks"][0]["clientConfig"] = client_config;
    Apply(hook);
  }

  FakeKubeApiProcess api_{TestDataDir() + "/check-cluster.yaml"};
  Config config_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(CheckTest, HealthyInstallIsAllWellAndWritesNothing) {
  WebhookUp();
  Apply(Injected(Rs0Pod("my-cluster-name-rs0-0", "2025-06-11T00:00:00Z", "my-cluster-name-rs0-2")));
  const CheckReport report = CheckInjection(config_, *client_);
  EXPECT_TRUE(report.ok()) << Dump(report);
  const CheckItem* pod = Find(report, check_section::kDryRun, "Pod");
  ASSERT_NE(pod, nullptr) << Dump(report);
  EXPECT_EQ(pod->status, check_status::kOk) << pod->message;
  EXPECT_NE(pod->message.find(std::string("AWS_ROLE_ARN=") + kRole), std::string::npos);
  const CheckItem* sa = Find(report, check_section::kDryRun, "ServiceAccount");
  ASSERT_NE(sa, nullptr) << Dump(report);
  EXPECT_EQ(sa->status, check_status::kOk) << sa->message;
  const CheckItem* rs0 = Find(report, check_section::kPods, "Pod", "my-cluster-name-rs0-0");
  ASSERT_NE(rs0, nullptr) << Dump(report);
  EXPECT_EQ(rs0->state, pod_state::kInjected);
  // Read-only: every write carried dryRun=All, nothing was patched.
  std::size_t writes = 0;
  for (const auto& r : api_.Requests()) {
    if (r["method"] == "GET") continue;
    ++writes;
    EXPECT_NE(r["query"].get<std::string>().find("dryRun=All"), std::string::npos) << r.dump();
  }
  EXPECT_EQ(writes, 2U);
  EXPECT_TRUE(api_.Patches().empty());
  EXPECT_TRUE(api_.Object("pods", "psmdb", "irsa-webhook-check-dry1").is_null());
}

TEST_F(CheckTest, WebhookDownBehindAServiceWithoutReadyEndpoints) {
  json slice = api_.Object("endpointslices", "irsa-system", "irsa-webhook-x7k2q");
  slice["kind"] = "EndpointSlice";
  slice["endpoints"][0]["conditions"]["ready"] = false;
  Apply(slice);
  const CheckReport report = CheckInjection(config_, *client_);
  EXPECT_FALSE(report.ok());
  const CheckItem* pod = Find(report, check_section::kDryRun, "Pod");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->status, check_status::kProblem);
  for (const char* expected :
       {"dry-run pod in psmdb (ServiceAccount percona-server-mongodb-operator) came back without "
        "AWS_ROLE_ARN",
        "failurePolicy Ignore, so the API server let the pod through unchanged",
        "calls Service irsa-system/irsa-webhook port 443 path /mutate",
        "has no ready endpoints: are the webhook's pods running and ready (kubectl -n irsa-system "
        "get pods)?"}) {
    EXPECT_NE(pod->message.find(expected), std::string::npos) << expected << "\n" << pod->message;
  }
  const CheckItem* sa = Find(report, check_section::kDryRun, "ServiceAccount");
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->status, check_status::kProblem);
  EXPECT_NE(sa->message.find("without eks.amazonaws.com/role-arn"), std::string::npos)
      << sa->message;
}

TEST_F(CheckTest, WebhookConfigurationPointsAtAPortTheServiceDoesNotHave) {
  SetWebhook(
      {{"service", {{"namespace", "irsa-system"}, {"name", "irsa-webhook"}, {"port", 9443}}}});
  const CheckReport report = CheckInjection(config_, *client_);
  const CheckItem* pod = Find(report, check_section::kDryRun, "Pod");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->status, check_status::kProblem);
  EXPECT_NE(pod->message.find("its Service irsa-system/irsa-webhook has no port 9443 (it has "
                              "443): clientConfig.service.port must be one of the Service's ports"),
            std::string::npos)
      << pod->message;
}

TEST_F(CheckTest, WebhookUrlWhereNothingListens) {
  const std::string url = "https://127.0.0.1:" + std::to_string(ClosedPort()) + "/mutate";
  SetWebhook({{"url", url}});
  const CheckReport report = CheckInjection(config_, *client_);
  const CheckItem* pod = Find(report, check_section::kDryRun, "Pod");
  ASSERT_NE(pod, nullptr);
  EXPECT_NE(pod->message.find("nothing answers at " + url + " from here"), std::string::npos)
      << pod->message;
  EXPECT_NE(pod->message.find("is `irsa-webhook serve` running"), std::string::npos);
}

TEST_F(CheckTest, NamespaceExcludedByTheNamespaceSelector) {
  Apply({{"apiVersion", "v1"},
         {"kind", "Namespace"},
         {"metadata",
          {{"name", "psmdb"}, {"labels", {{"kubernetes.io/metadata.name", "kube-system"}}}}}});
  const CheckReport report = CheckInjection(config_, *client_);
  const CheckItem* pod = Find(report, check_section::kDryRun, "Pod");
  ASSERT_NE(pod, nullptr);
  EXPECT_NE(pod->message.find("its namespaceSelector does not match namespace psmdb's labels"),
            std::string::npos)
      << pod->message;
}

TEST_F(CheckTest, NoWebhookConfigurationAtAll) {
  api_.Control("POST", "/fake/delete",
               {{"kind", "MutatingWebhookConfiguration"}, {"name", "irsa-webhook"}});
  const CheckReport report = CheckInjection(config_, *client_);
  const CheckItem* pod = Find(report, check_section::kDryRun, "Pod");
  ASSERT_NE(pod, nullptr);
  EXPECT_NE(pod->message.find("No MutatingWebhookConfiguration sends pod CREATE requests to a "
                              "webhook: is irsa-webhook installed"),
            std::string::npos)
      << pod->message;
}

TEST_F(CheckTest, PodsTableSaysWhyEachPodLacksInjection) {
  WebhookUp();
  Apply(Injected(Rs0Pod("my-cluster-name-rs0-0", "2025-06-11T00:00:00Z", "my-cluster-name-rs0-2")));
  // Created before the webhook configuration (2025-06-01), from the current revision.
  Apply(Rs0Pod("my-cluster-name-rs0-1", "2025-05-01T00:00:00Z", "my-cluster-name-rs0-2"));
  // From an older revision of an OnDelete StatefulSet: the rollout waits for a delete.
  Apply(Rs0Pod("my-cluster-name-rs0-2", "2025-06-05T00:00:00Z", "my-cluster-name-rs0-1"));
  // Opted out.
  json skipped = Rs0Pod("skipped-0", "2025-06-05T00:00:00Z", "my-cluster-name-rs0-2");
  skipped["metadata"]["labels"]["eks.amazonaws.com/skip-pod-identity-webhook"] = "true";
  Apply(skipped);
  // A volume of the token's name that is something else.
  json conflict = Rs0Pod("conflict-0", "2025-06-05T00:00:00Z", "my-cluster-name-rs0-2");
  conflict["spec"]["volumes"] = {{{"name", "aws-iam-token"}, {"emptyDir", json::object()}}};
  Apply(conflict);
  // Created while the webhook was registered, current revision, not injected.
  json missed = Rs0Pod("missed-0", "2025-06-12T00:00:00Z", "my-cluster-name-rs0-2");
  Apply(missed);
  // Not selected by the preset: not in the table.
  json arbiter = Rs0Pod("arbiter-0", "2025-05-01T00:00:00Z", "x");
  arbiter["metadata"]["labels"]["app.kubernetes.io/component"] = "arbiter";
  Apply(arbiter);

  const CheckReport report = CheckInjection(config_, *client_);
  EXPECT_FALSE(report.ok());
  struct Expected {
    std::string pod, state, status, message;
  };
  for (const Expected& e : std::vector<Expected>{
           {"my-cluster-name-rs0-0", "injected", "ok", kRole},
           {"my-cluster-name-rs0-1", "not-injected", "problem",
            "started before the webhook was registered (pod created 2025-05-01T00:00:00Z, webhook "
            "configuration created 2025-06-01T00:00:00Z): restart its workload (irsa-webhook "
            "reconcile --restart-workloads)"},
           {"my-cluster-name-rs0-2", "not-injected", "problem",
            "restart pending: StatefulSet my-cluster-name-rs0 has a newer pod template "
            "(kubectl.kubernetes.io/restartedAt=2025-06-10T00:00:00Z) that has not replaced this "
            "pod yet; its updateStrategy is OnDelete: delete the pod"},
           {"skipped-0", "skip-label", "ok", "never injected, on purpose"},
           {"conflict-0", "conflict", "problem",
            "already has a volume named aws-iam-token that is not a projected service account "
            "token"},
           {"missed-0", "not-injected", "problem",
            "created while the webhook was registered but not injected: the webhook was down or "
            "unreachable then"},
       }) {
    const CheckItem* item = Find(report, check_section::kPods, "Pod", e.pod);
    ASSERT_NE(item, nullptr) << e.pod << "\n" << Dump(report);
    EXPECT_EQ(item->state, e.state) << e.pod;
    EXPECT_EQ(item->status, e.status) << e.pod;
    EXPECT_NE(item->message.find(e.message), std::string::npos) << e.pod << ": " << item->message;
  }
  EXPECT_EQ(Find(report, check_section::kPods, "Pod", "arbiter-0"), nullptr);
}

TEST_F(CheckTest, ServiceAccountsAndPerconaWarnings) {
  WebhookUp();
  json sa = api_.Object("serviceaccounts", "psmdb", "default");
  sa["kind"] = "ServiceAccount";
  sa["metadata"]["annotations"] = json::object();
  Apply(sa);
  Apply({{"apiVersion", "psmdb.percona.com/v1"},
         {"kind", "PerconaServerMongoDB"},
         {"metadata", {{"name", "my-cluster-name"}, {"namespace", "psmdb"}}},
         {"spec",
          {{"backup",
            {{"storages",
              {{"s3-us-east",
                {{"type", "s3"},
                 {"s3",
                  {{"bucket", "b"},
                   {"region", "us-east-1"},
                   {"credentialsSecret", "my-cluster-name-backup-s3"}}}}}}}}}}}});
  const CheckReport report = CheckInjection(config_, *client_);
  const CheckItem* missing =
      Find(report, check_section::kServiceAccounts, "ServiceAccount", "default");
  ASSERT_NE(missing, nullptr) << Dump(report);
  EXPECT_EQ(missing->status, check_status::kProblem);
  EXPECT_NE(missing->message.find("run irsa-webhook reconcile"), std::string::npos);
  const CheckItem* annotated = Find(report, check_section::kServiceAccounts, "ServiceAccount",
                                    "percona-server-mongodb-operator");
  ASSERT_NE(annotated, nullptr);
  EXPECT_EQ(annotated->status, check_status::kOk);
  const CheckItem* percona = Find(report, check_section::kPercona, "PerconaServerMongoDB");
  ASSERT_NE(percona, nullptr) << Dump(report);
  EXPECT_EQ(percona->status, check_status::kWarning);
  EXPECT_NE(percona->message.find("credentialsSecret"), std::string::npos) << percona->message;
}

TEST_F(CheckTest, ABindingWhoseServiceAccountsDoNotExistIsUnproven) {
  WebhookUp();
  auto config = ParseConfig(json::parse(R"({"bindings": [{"name": "apps",
      "roleArn": "arn:aws:iam::111122223333:role/apps", "namespaces": ["apps"],
      "serviceAccounts": ["app"], "annotateServiceAccounts": false}]})"),
                            "inline");
  ASSERT_TRUE(config.ok()) << config.error();
  const std::vector<CheckItem> proof = ProveAdmission(*config, *client_);
  ASSERT_EQ(proof.size(), 1U);
  EXPECT_EQ(proof[0].status, check_status::kUnproven);
  EXPECT_NE(proof[0].message.find("none of its ServiceAccounts (app) exists in namespace apps"),
            std::string::npos)
      << proof[0].message;
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

TEST_F(CheckTest, BinaryExitCodesAndJson) {
  const std::string base = std::string(IRSA_WEBHOOK_PATH) + " check --config " + ExampleConfig() +
                           " --kubeconfig " + api_.WriteKubeconfig();
  const CommandResult down = RunCommand(base);
  EXPECT_EQ(down.exit_code, 1) << down.out;
  EXPECT_NE(down.out.find("PROBLEM"), std::string::npos) << down.out;
  EXPECT_NE(down.out.find("check failed: 2 problem(s), 0 unproven"), std::string::npos) << down.out;

  WebhookUp();
  const CommandResult up = RunCommand(base + " -o json");
  EXPECT_EQ(up.exit_code, 0) << up.out;
  const json parsed = json::parse(up.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << up.out;
  EXPECT_EQ(parsed["ok"], true);
  ASSERT_TRUE(parsed["items"].is_array());
  EXPECT_EQ(RunCommand(base + " -o yaml").exit_code, 2);
}

TEST_F(CheckTest, ReconcileRestartsNothingWhenTheProofFails) {
  // The operator Deployment's pod, created before the webhook: reconcile would roll it.
  Apply({{"apiVersion", "apps/v1"},
         {"kind", "Deployment"},
         {"metadata", {{"name", "percona-server-mongodb-operator"}, {"namespace", "psmdb"}}},
         {"spec", {{"replicas", 1}}}});
  Apply({{"apiVersion", "apps/v1"},
         {"kind", "ReplicaSet"},
         {"metadata",
          {{"name", "percona-server-mongodb-operator-7d9c8b6f5"},
           {"namespace", "psmdb"},
           {"ownerReferences",
            {{{"kind", "Deployment"},
              {"name", "percona-server-mongodb-operator"},
              {"controller", true}}}}}}});
  Apply({{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata",
          {{"name", "percona-server-mongodb-operator-7d9c8b6f5-x2k4p"},
           {"namespace", "psmdb"},
           {"creationTimestamp", "2025-05-01T00:00:00Z"},
           {"labels", {{"app.kubernetes.io/name", "percona-server-mongodb-operator"}}},
           {"ownerReferences",
            {{{"kind", "ReplicaSet"},
              {"name", "percona-server-mongodb-operator-7d9c8b6f5"},
              {"controller", true}}}}}},
         {"spec",
          {{"serviceAccountName", "percona-server-mongodb-operator"},
           {"containers", {{{"name", "operator"}, {"image", "percona/operator:1.21.0"}}}}}}});
  const std::string base = std::string(IRSA_WEBHOOK_PATH) + " reconcile --config " +
                           ExampleConfig() + " --kubeconfig " + api_.WriteKubeconfig() +
                           " --restart-workloads";
  const CommandResult refused = RunCommand(base);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("restarted nothing: the API server did not inject the dry-run pod"),
            std::string::npos)
      << refused.out;
  EXPECT_NE(refused.out.find("came back without AWS_ROLE_ARN"), std::string::npos) << refused.out;
  EXPECT_TRUE(api_.Patches().empty()) << api_.Patches().dump();

  WebhookUp();
  const CommandResult done = RunCommand(base);
  EXPECT_EQ(done.exit_code, 0) << done.out;
  std::set<std::string> patched;
  for (const auto& p : api_.Patches()) patched.insert(p["resource"].get<std::string>());
  EXPECT_EQ(patched.count("deployments"), 1U) << api_.Patches().dump();
}

}  // namespace
}  // namespace irsa::kube
