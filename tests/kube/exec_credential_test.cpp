// Exec credential plugins (kubeconfig users[].user.exec): the kubeconfig fields, the
// ExecCredential output, caching and refresh, failures, and a KubeClient authenticating with the
// plugin's token against the fake API server. The plugin is tests/kube/testdata/exec-plugin.sh.
#include "kube/exec_credential.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_kube_api_process.h"
#include "irsa/document.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/rfc3339.h"
#include "kube/token_source.h"

namespace irsa::kube {
namespace {

using nlohmann::json;
using testing::FakeKubeApiProcess;
using testing::TestDataDir;
using testing::WriteFile;

std::string Plugin() { return TestDataDir() + "/exec-plugin.sh"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t Lines(const std::string& path) {
  const std::string text = ReadAll(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

class ExecCredentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A parameterized test's name holds a '/' ("Case/Param"): one directory, not two levels.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ = std::filesystem::temp_directory_path() /
           ("irsa-exec-test-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::create_directories(dir_);
    log_ = (dir_ / "plugin.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A kubeconfig whose user runs the plugin with `env` (plus PLUGIN_LOG), as YAML flow text.
  std::string Kubeconfig(const std::string& server, const std::string& env,
                         const std::string& extra = "interactiveMode: Never") const {
    return "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
           "clusters: [{name: k, cluster: {server: \"" +
           server +
           "\"}}]\n"
           "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
           "command: \"" +
           Plugin() + "\", args: [eks, get-token, --cluster-name, demo], " + extra +
           ", env: [{name: PLUGIN_LOG, value: \"" + log_ + "\"}" + env + "]}}}]\n";
  }

  Result<KubeConfig> Parse(const std::string& text) const {
    auto document = ParseDocument(text);
    if (!document.ok()) return document.status();
    return ParseKubeConfig(*document, "kc", dir_.string());
  }

  ExecPluginConfig PluginConfig(const std::string& env) const {
    auto config = Parse(Kubeconfig("https://k", env));
    EXPECT_TRUE(config.ok()) << config.error();
    EXPECT_TRUE(config.ok() && config->exec.has_value());
    return config.ok() && config->exec ? *config->exec : ExecPluginConfig{};
  }

  std::filesystem::path dir_;
  std::string log_;
};

TEST_F(ExecCredentialTest, ReadsTheTokenAndPassesArgsEnvAndExecInfo) {
  const ExecPluginConfig plugin =
      PluginConfig(", {name: PLUGIN_TOKEN, value: tok-1}, {name: PLUGIN_EXPIRES_IN, value: '900'}");
  EXPECT_EQ(plugin.interactive_mode, "Never");
  auto credential = RunExecPlugin(plugin);
  ASSERT_TRUE(credential.ok()) << credential.error();
  EXPECT_EQ(credential->token, "tok-1");
  ASSERT_TRUE(credential->expires_at.has_value());
  const auto left = *credential->expires_at - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::seconds(800));
  EXPECT_LT(left, std::chrono::seconds(1000));
  const std::string log = ReadAll(log_);
  const std::string info = log.substr(0, log.find(' '));
  auto exec_info = ParseJson(info);
  ASSERT_TRUE(exec_info.ok()) << log;
  EXPECT_EQ((*exec_info)["apiVersion"], "client.authentication.k8s.io/v1");
  EXPECT_EQ((*exec_info)["kind"], "ExecCredential");
  EXPECT_EQ((*exec_info)["spec"]["interactive"], false);
  EXPECT_FALSE((*exec_info)["spec"].contains("cluster"));
  EXPECT_NE(log.find(" eks get-token --cluster-name demo\n"), std::string::npos) << log;
}

TEST_F(ExecCredentialTest, ProvideClusterInfoSendsTheCluster) {
  auto config = Parse(Kubeconfig("https://k.example:6443", ", {name: PLUGIN_TOKEN, value: t}",
                                 "interactiveMode: Never, provideClusterInfo: true"));
  ASSERT_TRUE(config.ok()) << config.error();
  ASSERT_TRUE(RunExecPlugin(*config->exec).ok());
  const std::string log = ReadAll(log_);
  auto exec_info = ParseJson(log.substr(0, log.find(' ')));
  ASSERT_TRUE(exec_info.ok()) << log;
  EXPECT_EQ((*exec_info)["spec"]["cluster"]["server"], "https://k.example:6443");
}

TEST_F(ExecCredentialTest, Accepts_v1beta1_AndDefaultsInteractiveMode) {
  std::string text = Kubeconfig("https://k",
                                ", {name: PLUGIN_TOKEN, value: beta}, {name: PLUGIN_API_VERSION, "
                                "value: client.authentication.k8s.io/v1beta1}",
                                "installHint: none");
  text.replace(text.find("authentication.k8s.io/v1,"), 25, "authentication.k8s.io/v1beta1,");
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->exec->interactive_mode, "IfAvailable");
  auto credential = RunExecPlugin(*config->exec);
  ASSERT_TRUE(credential.ok()) << credential.error();
  EXPECT_EQ(credential->token, "beta");
  EXPECT_FALSE(credential->expires_at.has_value());
}

TEST_F(ExecCredentialTest, ATokenInTheKubeconfigWinsOverThePlugin) {
  std::string text = Kubeconfig("https://k", "");
  text.replace(text.find("{exec:"), 6, "{token: static, exec:");
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_FALSE(config->exec.has_value());
  EXPECT_EQ(config->token, "static");
}

struct BadConfigCase {
  std::string name;
  std::string exec;
  std::string expected;
};

class ExecConfigErrorTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(ExecConfigErrorTest, NamesTheField) {
  const std::string text =
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "clusters: [{name: k, cluster: {server: \"https://k\"}}]\n"
      "users: [{name: u, user: {exec: " +
      GetParam().exec + "}}]\n";
  auto document = ParseDocument(text);
  ASSERT_TRUE(document.ok()) << document.error();
  auto config = ParseKubeConfig(*document, "kc", "/tmp");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().find(GetParam().expected), std::string::npos) << config.error();
  EXPECT_NE(config.error().find("user \"u\": exec: "), std::string::npos) << config.error();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExecConfigErrorTest,
    ::testing::Values(
        BadConfigCase{"NoApiVersion", "{command: aws}", "apiVersion: \"\" is not supported"},
        BadConfigCase{"Alpha", "{apiVersion: client.authentication.k8s.io/v1alpha1, command: aws}",
                      "is not supported"},
        BadConfigCase{"NoCommand",
                      "{apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}",
                      "command: required"},
        BadConfigCase{"V1WithoutInteractiveMode",
                      "{apiVersion: client.authentication.k8s.io/v1, command: aws}",
                      "interactiveMode: required"},
        BadConfigCase{"Always",
                      "{apiVersion: client.authentication.k8s.io/v1, command: aws, "
                      "interactiveMode: Always}",
                      "Always needs a terminal"},
        BadConfigCase{"UnknownMode",
                      "{apiVersion: client.authentication.k8s.io/v1, command: aws, "
                      "interactiveMode: Sometimes}",
                      "not one of Never, IfAvailable, Always"},
        BadConfigCase{"EnvNotAList",
                      "{apiVersion: client.authentication.k8s.io/v1, command: aws, "
                      "interactiveMode: Never, env: {A: b}}",
                      "env: must be a list"}),
    [](const ::testing::TestParamInfo<BadConfigCase>& param_info) {
      return param_info.param.name;
    });

TEST_F(ExecCredentialTest, RelativeCommandWithASlashIsRelativeToTheKubeconfig) {
  auto document = ParseDocument(
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "clusters: [{name: k, cluster: {server: \"https://k\"}}]\n"
      "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
      "interactiveMode: Never, command: ./bin/plugin}}}, {name: v, user: {}}]\n");
  ASSERT_TRUE(document.ok());
  auto config = ParseKubeConfig(*document, "kc", "/home/admin/.kube");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->exec->command, "/home/admin/.kube/bin/plugin");
}

TEST_F(ExecCredentialTest, CachesUntilNearExpiryThenRunsAgain) {
  // An hour of validity: one run serves every call.
  TokenSource long_lived = TokenSource::Exec(PluginConfig(
      ", {name: PLUGIN_TOKEN, value: long}, {name: PLUGIN_EXPIRES_IN, value: '3600'}"));
  for (int i = 0; i < 3; ++i) {
    auto token = long_lived.Token();
    ASSERT_TRUE(token.ok()) << token.error();
    EXPECT_EQ(*token, "long");
  }
  EXPECT_EQ(long_lived.exec_runs(), 1);
  EXPECT_EQ(Lines(log_), 1U);

  // Within kExecRefreshBeforeExpiry of its expiry a token is replaced before use.
  TokenSource expiring = TokenSource::Exec(
      PluginConfig(", {name: PLUGIN_TOKEN, value: short}, {name: PLUGIN_EXPIRES_IN, value: '10'}"));
  ASSERT_TRUE(expiring.Token().ok());
  ASSERT_TRUE(expiring.Token().ok());
  EXPECT_EQ(expiring.exec_runs(), 2);

  // Already expired.
  TokenSource expired = TokenSource::Exec(
      PluginConfig(", {name: PLUGIN_TOKEN, value: old}, {name: PLUGIN_EXPIRES_IN, value: '-60'}"));
  ASSERT_TRUE(expired.Token().ok());
  ASSERT_TRUE(expired.Token().ok());
  EXPECT_EQ(expired.exec_runs(), 2);
}

TEST_F(ExecCredentialTest, NoExpiryIsCachedUntilRefused) {
  const std::string token_file = (dir_ / "token").string();
  WriteFile(token_file, "first");
  TokenSource source =
      TokenSource::Exec(PluginConfig(", {name: PLUGIN_TOKEN_FILE, value: \"" + token_file + "\"}"));
  EXPECT_EQ(*source.Token(), "first");
  WriteFile(token_file, "second");
  EXPECT_EQ(*source.Token(), "first");
  source.Invalidate("some-other-token");  // not the one in use: nothing happens
  EXPECT_EQ(*source.Token(), "first");
  source.Invalidate("first");
  EXPECT_EQ(*source.Token(), "second");
  EXPECT_EQ(source.exec_runs(), 2);
}

struct FailureCase {
  std::string name;
  std::string env;
  std::string expected;
};

class ExecFailureTest : public ExecCredentialTest,
                        public ::testing::WithParamInterface<FailureCase> {};

TEST_P(ExecFailureTest, OneLineNamingThePlugin) {
  TokenSource source = TokenSource::Exec(PluginConfig(GetParam().env));
  auto token = source.Token();
  ASSERT_FALSE(token.ok());
  const std::string& error = token.error();
  EXPECT_NE(error.find(GetParam().expected), std::string::npos) << error;
  EXPECT_NE(error.find("user \"u\": exec plugin \"" + Plugin() + " eks get-token"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  // A failure is not cached: the next call tries again.
  EXPECT_FALSE(source.Token().ok());
  EXPECT_EQ(source.exec_runs(), 2);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExecFailureTest,
    ::testing::Values(
        FailureCase{"ExitStatusWithStderrTail", ", {name: PLUGIN_MODE, value: fail}",
                    "exited with status 3: first line of a long complaint An error occurred "
                    "(ExpiredToken): the SSO session has expired; run aws sso login"},
        FailureCase{"NotJson", ", {name: PLUGIN_MODE, value: bad-json}",
                    "did not print an ExecCredential JSON object"},
        FailureCase{"NoToken", ", {name: PLUGIN_MODE, value: no-token}", "printed no status.token"},
        FailureCase{"WrongApiVersion",
                    ", {name: PLUGIN_TOKEN, value: t}, {name: PLUGIN_API_VERSION, value: "
                    "client.authentication.k8s.io/v1beta1}",
                    "printed apiVersion \"client.authentication.k8s.io/v1beta1\" but the "
                    "kubeconfig asks for client.authentication.k8s.io/v1"}),
    [](const ::testing::TestParamInfo<FailureCase>& param_info) { return param_info.param.name; });

TEST_F(ExecCredentialTest, MissingCommandSaysSoWithTheInstallHint) {
  ExecPluginConfig plugin = PluginConfig("");
  plugin.command = "irsa-no-such-plugin";
  plugin.install_hint = "Install the AWS CLI:\nhttps://aws.amazon.com/cli/";
  auto credential = RunExecPlugin(plugin);
  ASSERT_FALSE(credential.ok());
  EXPECT_NE(credential.error().find("command \"irsa-no-such-plugin\" not found in PATH (Install "
                                    "the AWS CLI: https://aws.amazon.com/cli/)"),
            std::string::npos)
      << credential.error();

  plugin.command = (dir_ / "missing" / "plugin").string();
  credential = RunExecPlugin(plugin);
  ASSERT_FALSE(credential.ok());
  EXPECT_NE(credential.error().find(plugin.command + ": no such file"), std::string::npos)
      << credential.error();
}

TEST_F(ExecCredentialTest, NotExecutable) {
  ExecPluginConfig plugin = PluginConfig("");
  plugin.command = (dir_ / "plugin.txt").string();
  WriteFile(plugin.command, "#!/bin/sh\n");
  auto credential = RunExecPlugin(plugin);
  ASSERT_FALSE(credential.ok());
  EXPECT_NE(credential.error().find("permission denied (is it executable?)"), std::string::npos)
      << credential.error();
}

TEST(Rfc3339Test, ParsesWhatPluginsPrint) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  const auto epoch = [](long long s) { return system_clock::time_point(seconds(s)); };
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), epoch(0));
  EXPECT_EQ(ParseRfc3339("2025-01-31T12:00:00Z"), epoch(1738324800));
  EXPECT_EQ(ParseRfc3339("2025-01-31T14:00:00+02:00"), epoch(1738324800));
  EXPECT_EQ(ParseRfc3339("2025-01-31T11:30:00-00:30"), epoch(1738324800));
  EXPECT_EQ(ParseRfc3339("2025-01-31T12:00:00.5Z"),
            epoch(1738324800) + std::chrono::milliseconds(500));
  for (const char* bad :
       {"", "2025-01-31", "2025-01-31T12:00:00", "2025-02-30T00:00:00Z", "2025-01-31T25:00:00Z",
        "2025-01-31T12:00:00.Z", "2025-01-31T12:00:00Zx", "2025-01-31 12:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

// The whole path: kubeconfig -> KubeClient -> plugin -> bearer token the server checks; a 401
// drops the token and the next request runs the plugin again.
TEST_F(ExecCredentialTest, KubeClientAuthenticatesWithThePluginsToken) {
  FakeKubeApiProcess api(TestDataDir() + "/reconcile-cluster.yaml");
  ASSERT_TRUE(api.Start());
  api.SetAcceptedToken("from-plugin-1");
  const std::string token_file = (dir_ / "token").string();
  WriteFile(token_file, "from-plugin-1");
  std::string text =
      Kubeconfig(api.server_url(), ", {name: PLUGIN_TOKEN_FILE, value: \"" + token_file + "\"}");
  text.replace(text.find("cluster: {server"), 16,
               "cluster: {certificate-authority: \"" + api.ca_file() + "\", server");
  auto config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error();
  auto client = KubeClient::Create(*config);
  ASSERT_TRUE(client.ok()) << client.error();

  const std::string path = ResourcePath("v1", "serviceaccounts", "apps", "app");
  ASSERT_TRUE((*client)->Get(path).ok());
  ASSERT_TRUE((*client)->Get(path).ok());
  EXPECT_EQ((*client)->token_source().exec_runs(), 1);
  EXPECT_EQ(api.Requests().back()["token"], "from-plugin-1");

  // The server now wants another token: the first call is refused, the plugin runs again.
  api.SetAcceptedToken("from-plugin-2");
  WriteFile(token_file, "from-plugin-2");
  auto refused = (*client)->Get(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), StatusCode::kUnauthorized);
  auto again = (*client)->Get(path);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ((*client)->token_source().exec_runs(), 2);
  EXPECT_EQ(api.Requests().back()["token"], "from-plugin-2");
}

TEST_F(ExecCredentialTest, APluginFailureIsTheCallsError) {
  auto config = Parse(Kubeconfig("https://127.0.0.1:1", ", {name: PLUGIN_MODE, value: fail}"));
  ASSERT_TRUE(config.ok()) << config.error();
  auto client = KubeClient::Create(*config);
  ASSERT_TRUE(client.ok()) << client.error();
  auto result = (*client)->Get("/api/v1/namespaces");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("exited with status 3"), std::string::npos) << result.error();
}

}  // namespace
}  // namespace irsa::kube
