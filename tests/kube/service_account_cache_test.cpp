// ServiceAccountCache against the fake API server: list, watch, 410 relists, the server going
// away and coming back, token rotation, and cache-miss GETs. Timeouts here are hang guards only.
#include "kube/service_account_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "fake_kube_api_process.h"
#include "irsa/mutation.h"

namespace irsa::kube {
namespace {

using nlohmann::json;
using testing::FakeKubeApiProcess;
using testing::TestDataDir;

constexpr const char* kRoleKey = "eks.amazonaws.com/role-arn";

// Polls `condition` until true; a hang guard, not a performance assertion.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

json ServiceAccount(const std::string& ns, const std::string& name,
                    const json& annotations = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ServiceAccount"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"annotations", annotations}}}};
}

std::size_t CountRequests(const json& requests, const std::string& method, const std::string& path,
                          const std::string& query_part = "") {
  std::size_t n = 0;
  for (const auto& r : requests) {
    if (r["method"] == method && r["path"] == path &&
        r["query"].get<std::string>().find(query_part) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

class ServiceAccountCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.Start()); }

  std::unique_ptr<ServiceAccountCache> NewCache(const KubeConfig& config) {
    ServiceAccountCacheOptions options;
    options.initial_backoff = std::chrono::milliseconds(20);
    options.max_backoff = std::chrono::milliseconds(200);
    options.miss_ttl = std::chrono::seconds(60);
    auto cache = ServiceAccountCache::Create(
        config, "eks.amazonaws.com",
        [this](LogLevel, std::string_view message) {
          std::lock_guard<std::mutex> lock(log_mu_);
          log_.emplace_back(message);
        },
        options);
    EXPECT_TRUE(cache.ok()) << cache.error();
    return cache.ok() ? std::move(cache).value() : nullptr;
  }

  bool Logged(const std::string& part) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const auto& line : log_) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }

  FakeKubeApiProcess api_{TestDataDir() + "/reconcile-cluster.yaml"};
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(ServiceAccountCacheTest, InitialListSyncsAndKeepsOnlyPrefixedAnnotations) {
  auto cache = NewCache(api_.Config());
  EXPECT_FALSE(cache->synced());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));

  auto conflicting = cache->FindCached("apps", "conflicting");
  ASSERT_TRUE(conflicting.has_value());
  EXPECT_EQ(conflicting->ns, "apps");
  EXPECT_EQ(conflicting->name, "conflicting");
  ASSERT_NE(conflicting->Annotation(kRoleKey), nullptr);
  EXPECT_EQ(*conflicting->Annotation(kRoleKey), "arn:aws:iam::999999999999:role/someone-else");

  // Exists without "<prefix>/" annotations: known, with none kept (not "unknown").
  auto app = cache->FindCached("apps", "app");
  ASSERT_TRUE(app.has_value());
  EXPECT_TRUE(app->annotations.empty());
  EXPECT_FALSE(cache->FindCached("apps", "nope").has_value());

  const auto stats = cache->stats();
  EXPECT_EQ(stats.service_accounts, 7u);
  EXPECT_EQ(stats.annotated, 1u);
  EXPECT_EQ(stats.namespaces, 2u);
  EXPECT_EQ(stats.lists, 1u);
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, WatchAppliesAddModifyDelete) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));

  api_.Control("POST", "/fake/apply",
               ServiceAccount("apps", "fresh", {{kRoleKey, "arn:aws:iam::111122223333:role/a"}}));
  ASSERT_TRUE(Eventually([&] { return cache->FindCached("apps", "fresh").has_value(); }));
  EXPECT_EQ(*cache->FindCached("apps", "fresh")->Annotation(kRoleKey),
            "arn:aws:iam::111122223333:role/a");

  api_.Control("POST", "/fake/apply",
               ServiceAccount("apps", "fresh", {{kRoleKey, "arn:aws:iam::111122223333:role/b"}}));
  ASSERT_TRUE(Eventually([&] {
    auto sa = cache->FindCached("apps", "fresh");
    return sa && sa->Annotation(kRoleKey) != nullptr &&
           *sa->Annotation(kRoleKey) == "arn:aws:iam::111122223333:role/b";
  }));
  api_.Control("POST", "/fake/apply", ServiceAccount("apps", "fresh"));  // annotation removed
  ASSERT_TRUE(Eventually([&] {
    auto sa = cache->FindCached("apps", "fresh");
    return sa && sa->annotations.empty();
  }));
  EXPECT_EQ(cache->stats().annotated, 1u);

  api_.Control("POST", "/fake/delete",
               {{"kind", "ServiceAccount"}, {"namespace", "apps"}, {"name", "fresh"}});
  ASSERT_TRUE(Eventually([&] { return !cache->FindCached("apps", "fresh").has_value(); }));
  EXPECT_EQ(cache->stats().service_accounts, 7u);
  EXPECT_EQ(cache->stats().lists, 1u);  // all through the watch, no relist
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, RelistsOnAGoneErrorEvent) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));
  ASSERT_TRUE(Eventually([&] { return api_.Control("GET", "/fake/watchers") == 1; }));
  // Changes made while the watch is being expired must show up through the relist.
  api_.Control("POST", "/fake/expire-watches");
  api_.Control("POST", "/fake/apply", ServiceAccount("apps", "after-expiry"));
  ASSERT_TRUE(Eventually([&] { return cache->stats().lists >= 2; }));
  ASSERT_TRUE(Eventually([&] { return cache->FindCached("apps", "after-expiry").has_value(); }));
  EXPECT_TRUE(Logged("410 Gone"));
  EXPECT_GE(CountRequests(api_.Requests(), "GET", "/api/v1/serviceaccounts", "limit="), 2u);
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, RelistsOnAnHttpGoneAnswer) {
  api_.Control("POST", "/fake/options", {{"goneAsHttp", true}});
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));
  ASSERT_TRUE(Eventually([&] { return api_.Control("GET", "/fake/watchers") == 1; }));
  // The history is compacted and the stream ends: re-watching from the old version gets HTTP 410.
  api_.Control("POST", "/fake/apply", ServiceAccount("apps", "compacted-away"));
  api_.Control("POST", "/fake/compact");
  api_.Control("POST", "/fake/close-watches");
  ASSERT_TRUE(Eventually([&] { return cache->stats().lists >= 2; }));
  ASSERT_TRUE(Eventually([&] { return cache->FindCached("apps", "compacted-away").has_value(); }));
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, RecoversWhenTheServerGoesAwayAndComesBack) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));
  const int port = api_.port();
  api_.Stop();
  // While the server is away the cache keeps serving what it had.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(cache->synced());
  EXPECT_TRUE(cache->FindCached("apps", "app").has_value());

  // It comes back (same address and certificate) with a newer history: the cache's
  // resourceVersion is too old there, so it must relist.
  ASSERT_TRUE(api_.Start(port, 50000));
  api_.Control("POST", "/fake/apply", ServiceAccount("apps", "came-back"));
  ASSERT_TRUE(Eventually([&] { return cache->FindCached("apps", "came-back").has_value(); }));
  EXPECT_GE(cache->stats().lists, 2u);
  EXPECT_TRUE(Logged("failed"));  // the outage was reported through the log callback
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, UsesTheRotatedTokenFile) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));
  ASSERT_TRUE(Eventually([&] { return api_.Control("GET", "/fake/watchers") == 1; }));

  // The server starts accepting only the new token, and ends the open watch: reconnects fail
  // with 401 until the kubelet (here: the test) rotates the client's file.
  api_.SetAcceptedToken("token-two");
  api_.Control("POST", "/fake/close-watches");
  ASSERT_TRUE(Eventually([&] {
    for (const auto& r : api_.Requests()) {
      if (r["authorized"] == false && r["token"] == "token-one") return true;
    }
    return false;
  }));
  api_.SetClientToken("token-two");
  api_.Control("POST", "/fake/apply", ServiceAccount("apps", "after-rotation"));
  ASSERT_TRUE(Eventually([&] { return cache->FindCached("apps", "after-rotation").has_value(); }));
  const json requests = api_.Requests();
  ASSERT_FALSE(requests.empty());
  bool authorized_with_new = false;
  for (const auto& r : requests)
    authorized_with_new |= r["authorized"] == true && r["token"] == "token-two";
  EXPECT_TRUE(authorized_with_new);
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, MissDoesOneGetAndRemembersTheAnswer) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));
  api_.Control("POST", "/fake/reset-log");

  // A burst of admissions for a missing SA: one GET, shared and then remembered.
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        if (cache->Find("apps", "ghost").has_value()) ++found;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(found.load(), 0);
  EXPECT_EQ(CountRequests(api_.Requests(), "GET", "/api/v1/namespaces/apps/serviceaccounts/ghost"),
            1u);
  EXPECT_EQ(cache->stats().miss_gets, 1u);

  // A hit never calls the API.
  EXPECT_TRUE(cache->Find("apps", "app").has_value());
  EXPECT_EQ(CountRequests(api_.Requests(), "GET", "/api/v1/namespaces/apps/serviceaccounts/app"),
            0u);
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, FindWithoutWaitingAnswersFromMemoryOnly) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return cache->synced(); }));
  api_.Control("POST", "/fake/reset-log");

  // In the store: known at once, with its annotations.
  const ImmediateLookup app = cache->FindWithoutWaiting("apps", "app");
  EXPECT_TRUE(app.known);
  ASSERT_TRUE(app.account.has_value());
  EXPECT_EQ(app.account->name, "app");
  // Not in the store and never asked for: only a GET could tell, and none is sent.
  const ImmediateLookup ghost = cache->FindWithoutWaiting("apps", "ghost");
  EXPECT_FALSE(ghost.known);
  EXPECT_FALSE(ghost.account.has_value());
  EXPECT_EQ(CountRequests(api_.Requests(), "GET", "/api/v1/namespaces/apps/serviceaccounts/ghost"),
            0u);
  EXPECT_EQ(cache->stats().miss_gets, 0u);
  // Once Find() has asked, the remembered answer (it does not exist) is known at once.
  EXPECT_FALSE(cache->Find("apps", "ghost").has_value());
  const ImmediateLookup remembered = cache->FindWithoutWaiting("apps", "ghost");
  EXPECT_TRUE(remembered.known);
  EXPECT_FALSE(remembered.account.has_value());
  EXPECT_EQ(cache->stats().miss_gets, 1u);
  cache->Stop();
}

TEST_F(ServiceAccountCacheTest, MissGetFindsAnSaTheStoreDoesNotHaveYet) {
  // Never started: every lookup is a miss, answered by a GET (as before the first list).
  auto cache = NewCache(api_.Config());
  auto sa = cache->Find("apps", "conflicting");
  ASSERT_TRUE(sa.has_value());
  EXPECT_EQ(*sa->Annotation(kRoleKey), "arn:aws:iam::999999999999:role/someone-else");
  EXPECT_EQ(
      CountRequests(api_.Requests(), "GET", "/api/v1/namespaces/apps/serviceaccounts/conflicting"),
      1u);

  // And the MutatePod path uses it: a pod outside every binding gets the SA's role (rule 3).
  Config config;
  const json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "p"}, {"namespace", "apps"}}},
      {"spec",
       {{"serviceAccountName", "conflicting"}, {"containers", {{{"name", "c"}, {"image", "i"}}}}}}};
  auto mutation = MutatePod(config, pod, "apps", cache.get());
  ASSERT_TRUE(mutation.ok()) << mutation.error();
  EXPECT_EQ(mutation->outcome, Outcome::kMutated);
  EXPECT_EQ(mutation->role_arn, "arn:aws:iam::999999999999:role/someone-else");
}

TEST_F(ServiceAccountCacheTest, MissGetFailureIsNotFatal) {
  auto cache = NewCache(api_.Config());
  api_.Control("POST", "/fake/fail",
               {{"path", "/api/v1/namespaces/apps/serviceaccounts/app"}, {"code", 500}});
  EXPECT_FALSE(cache->Find("apps", "app").has_value());
  EXPECT_TRUE(Logged("miss GET for apps/app failed"));
}

TEST_F(ServiceAccountCacheTest, StopEndsAnOpenWatchAndIsIdempotent) {
  auto cache = NewCache(api_.Config());
  cache->Start();
  ASSERT_TRUE(Eventually([&] { return api_.Control("GET", "/fake/watchers") == 1; }));
  cache->Stop();  // the ctest timeout is the hang guard
  cache->Stop();
  ASSERT_TRUE(Eventually([&] { return api_.Control("GET", "/fake/watchers") == 0; }));
}

TEST(ServiceAccountCacheNoServerTest, BacksOffWhileTheServerIsDownAndStopsPromptly) {
  KubeConfig config;
  config.server = "https://127.0.0.1:1";
  config.insecure_skip_tls_verify = true;
  std::atomic<int> warnings{0};
  ServiceAccountCacheOptions options;
  options.initial_backoff = std::chrono::milliseconds(10);
  options.max_backoff = std::chrono::milliseconds(40);
  auto cache = ServiceAccountCache::Create(
      config, "eks.amazonaws.com",
      [&](LogLevel level, std::string_view) {
        if (level == LogLevel::kWarn) ++warnings;
      },
      options);
  ASSERT_TRUE(cache.ok());
  (*cache)->Start();
  ASSERT_TRUE(Eventually([&] { return warnings.load() >= 3; }));
  EXPECT_FALSE((*cache)->synced());
  (*cache)->Stop();
}

}  // namespace
}  // namespace irsa::kube
