// A rolling restart under load loses no admission (docs/reference.md section 2,
// --shutdown-delay-seconds).
//
// What the kube-apiserver does, modelled here: it sends each admission to a ready endpoint of
// the webhook's Service over keep-alive connections; a POST it has written is never retried, and
// a connection that is refused fails the admission (then failurePolicy decides). The endpoints
// follow the pods' readiness, which the kubelet probes periodically, so a pod keeps getting new
// connections for up to a probe period after its /readyz turns 503. Two servers take the load;
// each is stopped with SIGTERM and replaced in turn, as a Deployment's rolling update does.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include "harness.h"

namespace irsa::test {
namespace {

using nlohmann::json;

// How often the modelled kubelet probes /readyz (the chart's readiness periodSeconds is larger;
// the delay below covers several periods either way).
constexpr auto kProbePeriod = 100ms;
// The server's delay after SIGTERM in this test: a few probe periods.
constexpr int kShutdownDelaySeconds = 2;
// Load threads: concurrent admissions, each on its own keep-alive connection.
constexpr int kLoadThreads = 6;

struct Endpoint {
  std::unique_ptr<ServerProcess> process;
  std::atomic<bool> ready{false};
  std::atomic<bool> signalled{false};
  std::atomic<int> answered_after_signal{0};
};

class RollingRestartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    pki_ = std::make_unique<Pki>(tmp_.path(), "rollout-ca");
    cert_ = pki_->IssueServer("server", "server");
  }

  std::shared_ptr<Endpoint> StartEndpoint(const std::string& name) {
    auto endpoint = std::make_shared<Endpoint>();
    endpoint->process = std::make_unique<ServerProcess>();
    endpoint->process->Start(
        WithDefaultServeArgs({"--shutdown-delay-seconds", std::to_string(kShutdownDelaySeconds),
                              "--shutdown-grace-seconds", "10"},
                             cert_),
        tmp_ / (name + ".log"));
    EXPECT_TRUE(endpoint->process->WaitReady()) << endpoint->process->log();
    std::lock_guard<std::mutex> lock(mutex_);
    endpoints_.push_back(endpoint);
    return endpoint;
  }

  void RemoveEndpoint(const std::shared_ptr<Endpoint>& endpoint) {
    std::lock_guard<std::mutex> lock(mutex_);
    endpoints_.erase(std::find(endpoints_.begin(), endpoints_.end(), endpoint));
  }

  // The next ready endpoint, round robin; null when none is ready.
  std::shared_ptr<Endpoint> PickReady() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
      auto& candidate = endpoints_[next_++ % endpoints_.size()];
      if (candidate->ready.load()) return candidate;
    }
    return nullptr;
  }

  std::vector<std::shared_ptr<Endpoint>> Snapshot() {
    std::lock_guard<std::mutex> lock(mutex_);
    return endpoints_;
  }

  TempDir tmp_;
  std::unique_ptr<Pki> pki_;
  Pki::Issued cert_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<Endpoint>> endpoints_;  // guarded by mutex_
  std::size_t next_ = 0;                              // guarded by mutex_
};

TEST_F(RollingRestartTest, RestartingEachServerUnderLoadLosesNoAdmission) {
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::atomic<int> lost{0};
  std::mutex failure_mutex;
  std::string first_failure;
  const auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mutex);
    if (lost++ == 0) first_failure = what;
  };

  StartEndpoint("a");
  StartEndpoint("b");

  // The kubelet and the endpoints controller: readiness decides where new connections go.
  std::thread prober([&] {
    while (!stop.load()) {
      for (const auto& endpoint : Snapshot()) {
        endpoint->ready.store(MetricsGet(endpoint->process->metrics_port(), "/readyz").first ==
                              200);
      }
      std::this_thread::sleep_for(kProbePeriod);
    }
  });

  TlsOptions verified;
  verified.ca_file = pki_->ca_cert();
  std::vector<std::thread> load;
  for (int t = 0; t < kLoadThreads; ++t) {
    load.emplace_back([&, t] {
      std::unique_ptr<TlsConnection> conn;
      std::shared_ptr<Endpoint> endpoint;
      for (int i = 0; !stop.load(); ++i) {
        if (!conn || conn->PeerClosed()) {
          conn.reset();
          endpoint = PickReady();
          if (!endpoint) {
            std::this_thread::sleep_for(5ms);
            continue;
          }
          conn = std::make_unique<TlsConnection>(endpoint->process->port(), verified);
          if (!conn->ok()) {
            fail("connection to a ready endpoint refused: " + conn->error());
            conn.reset();
            continue;
          }
        }
        const std::string uid = "roll-" + std::to_string(t) + "-" + std::to_string(i);
        const json review = Review("admission.k8s.io/v1", uid, ExamplePod());
        if (!conn->Write(HttpRequest("POST", "/mutate", "application/json", review.dump()))) {
          fail(uid + ": could not write the request");
          conn.reset();
          continue;
        }
        const auto res = conn->ReadResponse();
        if (!res) {
          fail(uid + ": written, no answer");
          conn.reset();
          continue;
        }
        const json body = json::parse(res->body, nullptr, false);
        if (res->status != 200 || body.is_discarded() || body["response"]["uid"] != uid ||
            !body["response"].contains("patch")) {
          fail(uid + ": status " + std::to_string(res->status) + " " + res->body.substr(0, 200));
          continue;
        }
        ++answered;
        if (endpoint->signalled.load()) ++endpoint->answered_after_signal;
        // As Go's HTTP client: no further request on a connection the server closes.
        if (res->headers.count("connection") != 0 && res->headers.at("connection") == "close")
          conn.reset();
      }
    });
  }

  const auto answered_at_least = [&](int count) {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (answered.load() < count && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(10ms);
    return answered.load() >= count;
  };
  ASSERT_TRUE(answered_at_least(200)) << "the load never got going";

  std::vector<int> served_during_delay;
  int generation = 0;
  for (const auto& old : Snapshot()) {
    old->signalled.store(true);
    old->process->Signal(SIGTERM);
    const auto status = old->process->Wait(60s);
    ASSERT_TRUE(status) << "server did not exit";
    EXPECT_EQ(*status, 0) << old->process->log();
    EXPECT_NE(old->process->log().find("\"msg\":\"stopped\""), std::string::npos)
        << "did not drain cleanly: " << old->process->log();
    served_during_delay.push_back(old->answered_after_signal.load());
    RemoveEndpoint(old);
    StartEndpoint("replacement-" + std::to_string(++generation));
    ASSERT_TRUE(answered_at_least(answered.load() + 200)) << "the load stopped";
  }

  stop.store(true);
  for (auto& thread : load) thread.join();
  prober.join();
  for (const auto& endpoint : Snapshot()) endpoint->process->Signal(SIGTERM);

  EXPECT_EQ(lost.load(), 0) << "first lost admission: " << first_failure;
  // Each stopped server was still answering after SIGTERM (the delay was exercised under load).
  for (const int served : served_during_delay) EXPECT_GT(served, 0);
  std::printf(
      "[ rollout  ] %d admissions answered across 2 restarts, %d lost; answered after "
      "SIGTERM by the stopped servers: %d and %d\n",
      answered.load(), lost.load(), served_during_delay.at(0), served_during_delay.at(1));
}

}  // namespace
}  // namespace irsa::test
