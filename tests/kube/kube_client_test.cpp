// KubeClient against the fake API server over real TLS: trust, authentication, pagination,
// Status errors, patches and watch streams.
#include "kube/kube_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "fake_kube_api_process.h"
#include "irsa/document.h"

namespace irsa::kube {
namespace {

using nlohmann::json;
using testing::FakeKubeApiProcess;
using testing::TestDataDir;

std::unique_ptr<KubeClient> NewClient(const KubeConfig& config) {
  auto client = KubeClient::Create(config);
  EXPECT_TRUE(client.ok()) << client.error();
  return client.ok() ? std::move(client).value() : nullptr;
}

class KubeClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.Start()); }
  FakeKubeApiProcess api_{TestDataDir() + "/reconcile-cluster.yaml"};
};

TEST_F(KubeClientTest, GetsAnObjectWithTheTokenOverVerifiedTls) {
  auto client = NewClient(api_.Config());
  ASSERT_NE(client, nullptr);
  auto sa = client->Get(ResourcePath("v1", "serviceaccounts", "apps", "conflicting"));
  ASSERT_TRUE(sa.ok()) << sa.error();
  EXPECT_EQ((*sa)["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::999999999999:role/someone-else");
  const json requests = api_.Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back()["token"], "token-one");
  EXPECT_EQ(requests.back()["authorized"], true);
}

TEST_F(KubeClientTest, NotFoundCarriesTheStatusMessage) {
  auto client = NewClient(api_.Config());
  auto missing = client->Get(ResourcePath("v1", "serviceaccounts", "apps", "nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().find("serviceaccounts \"nope\" not found"), std::string::npos)
      << missing.error();
}

TEST_F(KubeClientTest, WrongTokenIsUnauthorized) {
  api_.SetClientToken("wrong");
  auto client = NewClient(api_.Config());
  auto sa = client->Get(ResourcePath("v1", "serviceaccounts", "apps", "app"));
  ASSERT_FALSE(sa.ok());
  EXPECT_EQ(sa.code(), StatusCode::kUnauthorized);
  EXPECT_NE(sa.error().find("credentials were refused"), std::string::npos) << sa.error();
}

TEST_F(KubeClientTest, AnInjectedStatusErrorIsSurfacedWithItsMessage) {
  api_.Control(
      "POST", "/fake/fail",
      {{"method", "GET"},
       {"path", "/api/v1/namespaces/apps/serviceaccounts"},
       {"code", 403},
       {"count", 1},
       {"message",
        "serviceaccounts is forbidden: User \"system:serviceaccount:irsa:irsa\" cannot list "
        "resource \"serviceaccounts\" in API group \"\" in the namespace \"apps\""}});
  auto client = NewClient(api_.Config());
  auto listed = client->List(ResourcePath("v1", "serviceaccounts", "apps"), [](json&&) {});
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.code(), StatusCode::kForbidden);
  EXPECT_NE(listed.error().find("403 Forbidden: serviceaccounts is forbidden: User"),
            std::string::npos)
      << listed.error();
  // count 1: the next call goes through.
  EXPECT_TRUE(client->List(ResourcePath("v1", "serviceaccounts", "apps"), [](json&&) {}).ok());
}

TEST_F(KubeClientTest, EachHttpStatusCallersBranchOnHasItsCode) {
  struct Case {
    const char* name;
    int http_status;
    StatusCode code;
  };
  const Case cases[] = {
      {"forbidden", 403, StatusCode::kForbidden},
      {"not found", 404, StatusCode::kNotFound},
      {"conflict", 409, StatusCode::kConflict},
      {"expired resourceVersion", 410, StatusCode::kGone},
      {"invalid object", 422, StatusCode::kFailed},
      {"server error", 500, StatusCode::kFailed},
  };
  auto client = NewClient(api_.Config());
  const std::string path = ResourcePath("v1", "serviceaccounts", "apps", "app");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    api_.Control("POST", "/fake/fail",
                 {{"method", "GET"},
                  {"path", path},
                  {"code", c.http_status},
                  {"count", 1},
                  {"message", "injected"}});
    auto got = client->Get(path);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.code(), c.code);
    EXPECT_NE(got.error().find("GET " + path + ": " + std::to_string(c.http_status)),
              std::string::npos)
        << got.error();
  }
}

TEST_F(KubeClientTest, ACancelledTokenStopsTheCallWithCancelled) {
  auto client = NewClient(api_.Config());
  CancelToken cancel;
  cancel.Cancel();
  auto got = client->Get(ResourcePath("v1", "serviceaccounts", "apps", "app"),
                         kDefaultRequestTimeout, &cancel);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.code(), StatusCode::kCancelled);
  EXPECT_EQ(got.error(), "GET cancelled");
}

TEST_F(KubeClientTest, UntrustedServerCertificateIsRefused) {
  KubeConfig config = api_.Config();
  config.ca_file.clear();
  auto other_ca = ReadFileText(TestDataDir() + "/other-ca.crt");
  ASSERT_TRUE(other_ca.ok());
  config.ca_data = *other_ca;
  auto client = NewClient(config);
  auto sa = client->Get(ResourcePath("v1", "serviceaccounts", "apps", "app"));
  ASSERT_FALSE(sa.ok());
  EXPECT_EQ(sa.code(), StatusCode::kUnavailable);
  EXPECT_NE(sa.error().find("not trusted"), std::string::npos) << sa.error();
}

TEST_F(KubeClientTest, CaDataIsTrustedAndInsecureSkipsVerification) {
  KubeConfig with_data = api_.Config();
  with_data.ca_file.clear();
  with_data.ca_data = *ReadFileText(api_.ca_file());
  EXPECT_TRUE(NewClient(with_data)->Get(ResourcePath("v1", "namespaces", "", "apps")).ok());

  KubeConfig insecure = api_.Config();
  insecure.ca_file.clear();
  insecure.insecure_skip_tls_verify = true;
  EXPECT_TRUE(NewClient(insecure)->Get(ResourcePath("v1", "namespaces", "", "apps")).ok());
}

TEST_F(KubeClientTest, KubeconfigFileWorksEndToEnd) {
  auto config = LoadKubeConfigFile(api_.WriteKubeconfig());
  ASSERT_TRUE(config.ok()) << config.error();
  auto got = NewClient(*config)->Get(ResourcePath("apps/v1", "deployments", "apps", "web"));
  EXPECT_TRUE(got.ok()) << got.error();
}

TEST_F(KubeClientTest, ListFollowsContinueTokens) {
  api_.Control("POST", "/fake/generate", {{"count", 1234}, {"namespaces", 3}});
  auto client = NewClient(api_.Config());
  api_.Control("POST", "/fake/reset-log");
  std::size_t items = 0;
  ListOptions options;
  options.page_size = 500;
  auto listed = client->List(
      ResourcePath("v1", "serviceaccounts"), [&](json&&) { ++items; }, options);
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_EQ(items, 1234u + 7u);  // generated + the fixture's
  EXPECT_FALSE(listed->empty());
  const json requests = api_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0]["query"], "limit=500");
  EXPECT_NE(requests[1]["query"].get<std::string>().find("continue="), std::string::npos);
}

TEST_F(KubeClientTest, MergeAndStrategicMergePatches) {
  auto client = NewClient(api_.Config());
  auto patched =
      client->Patch(ResourcePath("v1", "serviceaccounts", "apps", "app"),
                    {{"metadata", {{"annotations", {{"eks.amazonaws.com/role-arn", "arn:x"}}}}}},
                    PatchType::kMerge);
  ASSERT_TRUE(patched.ok()) << patched.error();
  EXPECT_EQ((*patched)["metadata"]["annotations"]["unrelated.example.com/note"], "kept");
  EXPECT_EQ(api_.Object("serviceaccounts", "apps",
                        "app")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:x");

  auto restarted =
      client->Patch(ResourcePath("apps/v1", "statefulsets", "apps", "db"),
                    {{"spec", {{"template", {{"metadata", {{"annotations", {{"a", "b"}}}}}}}}}},
                    PatchType::kStrategicMerge);
  ASSERT_TRUE(restarted.ok()) << restarted.error();
  const json patches = api_.Patches();
  ASSERT_EQ(patches.size(), 2u);
  EXPECT_EQ(patches[0]["patchType"], "merge");
  EXPECT_EQ(patches[1]["patchType"], "strategic-merge");

  // A stale resourceVersion precondition is a 409 Conflict.
  auto stale = client->Patch(
      ResourcePath("v1", "serviceaccounts", "apps", "app"),
      {{"metadata", {{"resourceVersion", "1"}, {"annotations", {{"x", "y"}}}}}}, PatchType::kMerge);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.code(), StatusCode::kConflict);
}

TEST_F(KubeClientTest, WatchStreamsEventsAndCancelStopsIt) {
  auto client = NewClient(api_.Config());
  std::string rv;
  ASSERT_TRUE(client->List(ResourcePath("v1", "serviceaccounts"), [](json&&) {}).ok());
  auto listed = client->List(ResourcePath("v1", "serviceaccounts"), [](json&&) {});
  rv = listed.value();

  CancelToken cancel;
  std::vector<json> events;
  std::mutex mu;
  Result<Done> result = Status::Error("not run");
  std::thread watcher([&] {
    WatchOptions options;
    options.resource_version = rv;
    result = client->Watch(
        ResourcePath("v1", "serviceaccounts"), options,
        [&](json&& event) {
          std::lock_guard<std::mutex> lock(mu);
          events.push_back(std::move(event));
          return true;
        },
        &cancel);
  });
  api_.Control("POST", "/fake/apply",
               {{"apiVersion", "v1"},
                {"kind", "ServiceAccount"},
                {"metadata", {{"name", "new-sa"}, {"namespace", "apps"}}}});
  api_.Control("POST", "/fake/delete",
               {{"kind", "ServiceAccount"}, {"namespace", "apps"}, {"name", "new-sa"}});
  // Hang guard only: the events normally arrive within milliseconds.
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (events.size() >= 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  cancel.Cancel();
  watcher.join();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "new-sa");
  EXPECT_EQ(events[1]["type"], "DELETED");
  EXPECT_EQ(result.code(), StatusCode::kCancelled);
  const json requests = api_.Requests();
  bool saw_watch = false;
  for (const auto& r : requests) {
    const std::string query = r["query"];
    if (query.find("watch=1") != std::string::npos) {
      saw_watch = true;
      EXPECT_NE(query.find("allowWatchBookmarks=true"), std::string::npos) << query;
      EXPECT_NE(query.find("resourceVersion=" + rv), std::string::npos) << query;
    }
  }
  EXPECT_TRUE(saw_watch);
}

TEST(KubeClientClientCertTest, ClientCertificateAuthenticates) {
  FakeKubeApiProcess api(TestDataDir() + "/reconcile-cluster.yaml", /*client_cert_auth=*/true);
  ASSERT_TRUE(api.Start());
  KubeConfig config = api.Config();
  config.token_file.clear();
  // The fake trusts its own self-signed certificate as a client CA.
  config.client_cert_pem = *ReadFileText(api.ca_file());
  config.client_key_pem = *ReadFileText(api.key_file());
  auto got = NewClient(config)->Get(ResourcePath("v1", "namespaces", "", "apps"));
  EXPECT_TRUE(got.ok()) << got.error();

  KubeConfig without = api.Config();
  without.token_file.clear();
  auto refused = NewClient(without)->Get(ResourcePath("v1", "namespaces", "", "apps"));
  EXPECT_FALSE(refused.ok());
}

TEST(KubeClientCreateTest, RejectsBadServersAndMismatchedKeys) {
  KubeConfig config;
  config.server = "ftp://x";
  EXPECT_FALSE(KubeClient::Create(config).ok());
  config.server = "https://host:99999";
  EXPECT_FALSE(KubeClient::Create(config).ok());
  config.server = "https://[::1]:6443/prefix/";
  EXPECT_TRUE(KubeClient::Create(config).ok());
  config.client_cert_pem = "not a pem";
  config.client_key_pem = "not a pem";
  EXPECT_FALSE(KubeClient::Create(config).ok());
}

TEST(KubeClientUnreachableTest, ConnectionErrorIsAValueWithAHint) {
  KubeConfig config;
  config.server = "https://127.0.0.1:1";
  config.insecure_skip_tls_verify = true;
  auto got = NewClient(config)->Get("/api/v1/namespaces", std::chrono::milliseconds(500));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.code(), StatusCode::kUnavailable);
  EXPECT_NE(got.error().find("reachable"), std::string::npos) << got.error();
}

TEST(QueryEscapeTest, EscapesReservedCharacters) {
  EXPECT_EQ(QueryEscape("a b/c=d&e"), "a%20b%2Fc%3Dd%26e");
  EXPECT_EQ(QueryEscape("abc-_.~"), "abc-_.~");
  EXPECT_EQ(ResourcePath("v1", "serviceaccounts", "ns", "sa"),
            "/api/v1/namespaces/ns/serviceaccounts/sa");
  EXPECT_EQ(ResourcePath("apps/v1", "deployments"), "/apis/apps/v1/deployments");
}

}  // namespace
}  // namespace irsa::kube
