// `serve` with Kubernetes access, black-box: the real irsa-webhook binary, a kubeconfig pointing
// at tests/kube/fake_kube_api (real HTTPS on 127.0.0.1), real TLS requests to the webhook.
// - /readyz waits for the ServiceAccount cache's first list;
// - a pod whose ServiceAccount carries <prefix>/role-arn (no binding covers it) gets that role,
//   with the ServiceAccount's audience and token lifetime;
// - an annotation changed in the API reaches the next admission (watch);
// - with the API server unreachable, /readyz stays 503 and bound pods are still mutated from
//   the config alone.
#include <gtest/gtest.h>
#include <httplib.h>

#include <csignal>
#include <thread>

#include "fake_kube_api_process.h"
#include "harness.h"

namespace irsa {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test::Pki;
using test::ServerProcess;
using test::TempDir;

const char* const kServiceAccounts = R"(
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: reporting
      namespace: apps
      annotations:
        eks.amazonaws.com/role-arn: arn:aws:iam::444455556666:role/reporting
        eks.amazonaws.com/audience: sts.example.com
        eks.amazonaws.com/token-expiration: "7200"
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: psmdb}}
)";

json ReportingPod() {
  return json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"generateName": "report-", "namespace": "apps"},
    "spec": {"serviceAccountName": "reporting", "containers": [{"name": "report", "image": "r:1"}]}})");
}

class ServeKubeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    pki_ = std::make_unique<Pki>(tmp_.path(), "webhook-ca");
    cert_ = std::make_unique<Pki::Issued>(pki_->IssueServer("webhook", "webhook"));
    test::WriteFile(tmp_ / "fixture.yaml", kServiceAccounts);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- server log ---\n" << server_.log() << "\n";
  }

  void StartServe(const std::string& kubeconfig) {
    server_.Start({"--config", test::SourceDir() + "/examples/config.yaml", "--tls-cert-file",
                   cert_->cert.string(), "--tls-key-file", cert_->key.string(), "--kubeconfig",
                   kubeconfig, "--log-level", "debug"},
                  tmp_ / "serve.log");
  }

  // POSTs a review to /mutate; returns the AdmissionReview response.
  json Mutate(const json& pod, const std::string& ns) {
    httplib::SSLClient client("127.0.0.1", server_.port());
    client.set_ca_cert_path(pki_->ca_cert().c_str());
    client.enable_server_certificate_verification(true);
    client.set_read_timeout(20, 0);
    auto res = client.Post(
        "/mutate", test::Review("admission.k8s.io/v1", "u-1", pod, "Pod", "CREATE", ns).dump(),
        "application/json");
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) return json();
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body);
  }

  static json Patch(const json& response) {
    if (!response["response"].contains("patch")) return json::array();
    return json::parse(test::Base64Decode(response["response"]["patch"]));
  }

  static std::string EnvValue(const json& patch, const std::string& name) {
    for (const auto& op : patch) {
      const json& value = op["value"];
      for (const json& var : value.is_array() ? value : json::array({value})) {
        if (var.is_object() && var.value("name", "") == name && var.contains("value"))
          return var["value"];
      }
    }
    return "<absent>";
  }

  TempDir tmp_;
  std::unique_ptr<Pki> pki_;
  std::unique_ptr<Pki::Issued> cert_;
  ServerProcess server_;
};

TEST_F(ServeKubeTest, ServiceAccountRoleAnnotationInjectedAndWatchedChangesApply) {
  kube::testing::FakeKubeApiProcess api((tmp_ / "fixture.yaml").string());
  ASSERT_TRUE(api.Start());
  StartServe(api.WriteKubeconfig());
  ASSERT_TRUE(server_.WaitReady()) << "readyz never turned 200 (cache never synced)";

  const json patch = Patch(Mutate(ReportingPod(), "apps"));
  EXPECT_EQ(EnvValue(patch, "AWS_ROLE_ARN"), "arn:aws:iam::444455556666:role/reporting");
  const std::string text = patch.dump();
  EXPECT_NE(text.find(R"("audience":"sts.example.com")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("expirationSeconds":7200)"), std::string::npos) << text;

  // Change the annotation in the API: the watch brings it to the next admission.
  api.Control("POST", "/fake/apply", json::parse(R"({"apiVersion": "v1", "kind": "ServiceAccount",
      "metadata": {"name": "reporting", "namespace": "apps",
                   "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::444455556666:role/reporting-v2"}}})"));
  std::string role;
  for (int i = 0; i < 100 && role != "arn:aws:iam::444455556666:role/reporting-v2"; ++i) {
    role = EnvValue(Patch(Mutate(ReportingPod(), "apps")), "AWS_ROLE_ARN");
    if (role != "arn:aws:iam::444455556666:role/reporting-v2") std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(role, "arn:aws:iam::444455556666:role/reporting-v2");

  // The binding still decides for the Percona pods of its namespace.
  EXPECT_EQ(EnvValue(Patch(Mutate(test::ExamplePod(), "psmdb")), "AWS_ROLE_ARN"),
            "arn:aws:iam::111122223333:role/psmdb-backup");

  const auto metrics = test::MetricsGet(server_.metrics_port(), "/readyz");
  EXPECT_EQ(metrics.first, 200);
  server_.Signal(SIGTERM);
  EXPECT_EQ(server_.Wait(), std::optional<int>(0));
  // The cache listed and watched with the kubeconfig's bearer token (the fake API checks it).
  bool listed = false;
  for (const auto& request : api.Requests()) {
    if (request.dump().find("serviceaccounts") != std::string::npos) listed = true;
  }
  EXPECT_TRUE(listed);
}

TEST_F(ServeKubeTest, UnreachableApiKeepsReadyzDownButServesBindingsFromConfig) {
  // A kubeconfig whose server is a closed port on 127.0.0.1.
  kube::testing::FakeKubeApiProcess api((tmp_ / "fixture.yaml").string());
  ASSERT_TRUE(api.Start());
  const std::string kubeconfig = api.WriteKubeconfig();
  api.Stop();
  StartServe(kubeconfig);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (test::MetricsGet(server_.metrics_port(), "/healthz").first != 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(test::MetricsGet(server_.metrics_port(), "/readyz").first, 503);

  const auto start = std::chrono::steady_clock::now();
  const json patch = Patch(Mutate(test::ExamplePod(), "psmdb"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(EnvValue(patch, "AWS_ROLE_ARN"), "arn:aws:iam::111122223333:role/psmdb-backup");
  // Hang guard, not a benchmark: a cache miss may wait for one bounded GET, far below the
  // kube-apiserver's 10 s webhook timeout.
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(EnvValue(Patch(Mutate(ReportingPod(), "apps")), "AWS_ROLE_ARN"), "<absent>");
  server_.Signal(SIGTERM);
  EXPECT_EQ(server_.Wait(), std::optional<int>(0));
}

}  // namespace
}  // namespace irsa
