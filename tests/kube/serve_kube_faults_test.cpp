// `serve` when the Kubernetes API is slow or never answers (issue 8): the real binary with a
// kubeconfig pointing at tests/kube/fake_kube_api (delaying every answer) or at a socket that
// accepts connections and never says a word. Admission answers for bound pods must come from
// the config within a bound far below the kube-apiserver's 10 s webhook timeout, several at once;
// /readyz must say the ServiceAccount cache is not synced; SIGTERM must still end the process.
// Timeouts are hang guards; the 5 s bound is the property under test (the cache's miss GET is
// bounded at 1 s), with a wide margin for sanitizer builds.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include "fake_kube_api_process.h"
#include "harness.h"

namespace irsa {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kRole = "arn:aws:iam::111122223333:role/psmdb-backup";
constexpr const char* kReportingRole = "arn:aws:iam::444455556666:role/reporting";
// Far below the kube-apiserver's 10 s webhook timeout; the cache waits at most 1 s on a miss.
constexpr auto kAnswerBound = 5s;

const char* const kServiceAccounts = R"(
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: reporting
      namespace: apps
      annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::444455556666:role/reporting"}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: psmdb}}
)";

json ReportingPod() {
  return json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"generateName": "report-", "namespace": "apps"},
    "spec": {"serviceAccountName": "reporting", "containers": [{"name": "report", "image": "r:1"}]}})");
}

// A TCP port that completes connections (the kernel's backlog) and never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, 128);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class ServeKubeFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    pki_ = std::make_unique<test::Pki>(tmp_.path(), "webhook-ca");
    cert_ = std::make_unique<test::Pki::Issued>(pki_->IssueServer("webhook", "webhook"));
    test::WriteFile(tmp_ / "fixture.yaml", kServiceAccounts);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- server log ---\n" << server_.log() << "\n";
  }

  void StartServe(const std::string& kubeconfig) {
    server_.Start(
        {"--config", test::SourceDir() + "/examples/config.yaml", "--tls-cert-file",
         cert_->cert.string(), "--tls-key-file", cert_->key.string(), "--kubeconfig", kubeconfig},
        tmp_ / "serve.log");
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (test::MetricsGet(server_.metrics_port(), "/healthz").first != 200) {
      ASSERT_TRUE(server_.running()) << server_.log();
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the listeners never came up";
      std::this_thread::sleep_for(50ms);
    }
  }

  // The role injected into the first container ("" when none), and how long the answer took.
  struct Answer {
    bool ok = false;
    std::string role;
    std::chrono::steady_clock::duration elapsed{};
  };
  Answer Mutate(const json& pod, const std::string& ns, const std::string& uid) const {
    httplib::SSLClient client("127.0.0.1", server_.port());
    client.set_ca_cert_path(pki_->ca_cert().c_str());
    client.enable_server_certificate_verification(true);
    client.set_read_timeout(30, 0);  // hang guard
    const auto start = std::chrono::steady_clock::now();
    auto res = client.Post(
        "/mutate", test::Review("admission.k8s.io/v1", uid, pod, "Pod", "CREATE", ns).dump(),
        "application/json");
    Answer answer;
    answer.elapsed = std::chrono::steady_clock::now() - start;
    if (!res || res->status != 200) return answer;
    const json body = json::parse(res->body, nullptr, false);
    if (body.is_discarded() || body["response"]["uid"] != uid) return answer;
    answer.ok = true;
    if (!body["response"].contains("patch")) return answer;
    const json patch = json::parse(test::Base64Decode(body["response"]["patch"]));
    const json patched = pod.patch(patch);
    for (const auto& env : patched["spec"]["containers"][0].value("env", json::array())) {
      if (env.value("name", "") == "AWS_ROLE_ARN") answer.role = env.value("value", "");
    }
    return answer;
  }

  // Several bound pods at once (and one pod whose ServiceAccount only the API knows): each
  // answered from the config within kAnswerBound.
  void ExpectBoundPodsServedFromConfig(const std::string& phase) {
    SCOPED_TRACE(phase);
    constexpr int kThreads = 6;
    std::atomic<int> wrong{0};
    std::atomic<int> slow{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 3; ++i) {
          const std::string uid = phase + "-" + std::to_string(t) + "-" + std::to_string(i);
          const Answer answer = Mutate(test::ExamplePod(), "psmdb", uid);
          if (!answer.ok || answer.role != kRole) ++wrong;
          if (answer.elapsed > kAnswerBound) ++slow;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0) << "bound pods not mutated from the config";
    EXPECT_EQ(slow.load(), 0) << "answers slower than " << kAnswerBound.count() << " s";
    // Not covered by a binding: the ServiceAccount annotation would decide, but the cache
    // cannot know it yet. Answered (without a role) within the bound too.
    const Answer unbound = Mutate(ReportingPod(), "apps", phase + "-unbound");
    EXPECT_TRUE(unbound.ok);
    EXPECT_LE(unbound.elapsed, kAnswerBound);
  }

  void ExpectCleanShutdown() {
    server_.Signal(SIGTERM);
    EXPECT_EQ(server_.Wait(60s), std::optional<int>(0)) << "serve did not exit cleanly";
  }

  test::TempDir tmp_;
  std::unique_ptr<test::Pki> pki_;
  std::unique_ptr<test::Pki::Issued> cert_;
  test::ServerProcess server_;
};

TEST_F(ServeKubeFaultsTest, SlowApiServerBoundPodsAnsweredFromConfigWithinTheBound) {
  kube::testing::FakeKubeApiProcess api((tmp_ / "fixture.yaml").string());
  ASSERT_TRUE(api.Start());
  // Every API answer takes 6 s: the cache's first list (10 s timeout) succeeds late, and each
  // miss GET (1 s timeout) fails.
  api.Control("POST", "/fake/options", json{{"delayMs", 6000}});
  StartServe(api.WriteKubeconfig());
  const auto readyz = test::MetricsGet(server_.metrics_port(), "/readyz");
  EXPECT_EQ(readyz.first, 503);
  EXPECT_NE(readyz.second.find("ServiceAccount cache not synced"), std::string::npos)
      << readyz.second;
  ExpectBoundPodsServedFromConfig("unsynced");
  // The list arrives: ready, and the ServiceAccount annotation now decides for its pods.
  ASSERT_TRUE(server_.WaitReady(60s)) << "the cache never synced with a slow API server";
  api.Control("POST", "/fake/options", json{{"delayMs", 0}});
  const Answer reporting = Mutate(ReportingPod(), "apps", "synced-reporting");
  EXPECT_EQ(reporting.role, kReportingRole);
  // Slow again: the synced cache answers without the API.
  api.Control("POST", "/fake/options", json{{"delayMs", 6000}});
  ExpectBoundPodsServedFromConfig("synced-slow");
  const Answer cached = Mutate(ReportingPod(), "apps", "synced-slow-reporting");
  EXPECT_EQ(cached.role, kReportingRole);
  EXPECT_LE(cached.elapsed, kAnswerBound);
  ExpectCleanShutdown();
}

TEST_F(ServeKubeFaultsTest, ApiServerThatNeverAnswersKeepsReadyzDownAndServesFromConfig) {
  // A kubeconfig whose server accepts TCP connections and never answers the TLS handshake.
  kube::testing::FakeKubeApiProcess api((tmp_ / "fixture.yaml").string());
  ASSERT_TRUE(api.Start());
  SilentListener silent;
  const std::string kubeconfig = api.dir() + "/kubeconfig-silent";
  std::string text = test::ReadFile(api.WriteKubeconfig());
  const std::string url = api.server_url();
  text.replace(text.find(url), url.size(), "https://127.0.0.1:" + std::to_string(silent.port()));
  test::WriteFile(kubeconfig, text);
  StartServe(kubeconfig);
  ExpectBoundPodsServedFromConfig("silent");
  std::this_thread::sleep_for(2s);
  ExpectBoundPodsServedFromConfig("silent-later");
  const auto readyz = test::MetricsGet(server_.metrics_port(), "/readyz");
  EXPECT_EQ(readyz.first, 503) << readyz.second;
  // The cache's pending list must not hold up the shutdown.
  ExpectCleanShutdown();
}

TEST_F(ServeKubeFaultsTest, UnreachableApiServerUnderConcurrentAdmissions) {
  // A closed port: connections are refused at once.
  kube::testing::FakeKubeApiProcess api((tmp_ / "fixture.yaml").string());
  ASSERT_TRUE(api.Start());
  const std::string kubeconfig = api.WriteKubeconfig();
  api.Stop();
  StartServe(kubeconfig);
  ExpectBoundPodsServedFromConfig("unreachable");
  EXPECT_EQ(test::MetricsGet(server_.metrics_port(), "/readyz").first, 503);
  ExpectCleanShutdown();
}

}  // namespace
}  // namespace irsa
