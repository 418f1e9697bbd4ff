// kubeconfig and in-cluster config parsing, base64, and token file rotation (no server needed).
#include "kube/kube_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fake_kube_api_process.h"
#include "irsa/document.h"
#include "irsa/text.h"
#include "kube/token_source.h"

namespace irsa::kube {
namespace {

using testing::TestDataDir;
using testing::WriteFile;

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/kube-config-test-XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name, const std::string& text) const {
    WriteFile(path_ + "/" + name, text);
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

std::string OtherCaPem() {
  auto text = ReadFileText(TestDataDir() + "/other-ca.crt");
  return text.ok() ? *text : std::string();
}

Result<KubeConfig> Parse(const std::string& yaml, const std::string& base_dir = "/base",
                         std::string_view context = "") {
  auto document = ParseDocument(yaml);
  if (!document.ok()) return document.status();
  return ParseKubeConfig(*document, "kc.yaml", base_dir, context);
}

constexpr const char* kTwoContexts = R"(
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev-cluster
  cluster: {server: "https://dev.example.com:6443", insecure-skip-tls-verify: true}
- name: prod-cluster
  cluster: {server: "https://prod.example.com", certificate-authority-data: "%CA%"}
users:
- name: dev-user
  user: {token: dev-token}
- name: prod-user
  user: {token: prod-token}
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
)";

std::string WithCa(std::string text) {
  const std::string ca = Base64Encode(OtherCaPem());
  text.replace(text.find("%CA%"), 4, ca);
  return text;
}

TEST(KubeConfigTest, CurrentContextSelectsClusterAndUser) {
  auto config = Parse(WithCa(kTwoContexts));
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server, "https://prod.example.com");
  EXPECT_EQ(config->token, "prod-token");
  EXPECT_EQ(config->ca_data, OtherCaPem());
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_NE(config->source.find("context \"prod\""), std::string::npos);
}

TEST(KubeConfigTest, ExplicitContextOverridesCurrentContext) {
  auto config = Parse(WithCa(kTwoContexts), "/base", "dev");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server, "https://dev.example.com:6443");
  EXPECT_EQ(config->token, "dev-token");
  EXPECT_EQ(config->ns, "team-a");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
}

TEST(KubeConfigTest, RelativePathsResolveAgainstTheKubeconfigDirectory) {
  TempDir dir;
  dir.File("ca.crt", OtherCaPem());
  dir.File("token", "file-token\n");
  const std::string path = dir.File("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://10.0.0.1:6443", certificate-authority: ca.crt}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  auto config = LoadKubeConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(config->token_file, dir.path() + "/token");
  EXPECT_TRUE(config->token.empty());  // remembered by path: re-read when it rotates
}

TEST(KubeConfigTest, ClientCertificateFromFilesAndFromData) {
  TempDir dir;
  dir.File("client.crt", "CERT PEM");
  dir.File("client.key", "KEY PEM");
  auto from_files = Parse(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k:6443"}}]
users: [{name: u, user: {client-certificate: client.crt, client-key: client.key}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                          dir.path());
  ASSERT_TRUE(from_files.ok()) << from_files.error();
  EXPECT_EQ(from_files->client_cert_pem, "CERT PEM");
  EXPECT_EQ(from_files->client_key_pem, "KEY PEM");

  auto from_data = Parse(
      "current-context: c\n"
      "clusters: [{name: k, cluster: {server: \"https://k:6443\"}}]\n"
      "users: [{name: u, user: {client-certificate-data: " +
      Base64Encode("CERT2") + ", client-key-data: " + Base64Encode("KEY2") +
      "}}]\n"
      "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
  ASSERT_TRUE(from_data.ok()) << from_data.error();
  EXPECT_EQ(from_data->client_cert_pem, "CERT2");
  EXPECT_EQ(from_data->client_key_pem, "KEY2");
}

TEST(KubeConfigTest, TokenFileWinsOverToken) {
  TempDir dir;
  dir.File("token", "file-token");
  auto config = Parse(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {token: inline, tokenFile: token}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                      dir.path());
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->token_file, dir.path() + "/token");
  EXPECT_TRUE(config->token.empty());
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* expected;  // substring of the error
};

// Keeps ctest's test names readable (gtest would print the struct's bytes).
void PrintTo(const BadCase& c, std::ostream* out) { *out << c.name; }

class KubeConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(KubeConfigErrorTest, IsRejectedWithAnActionableMessage) {
  auto config = Parse(GetParam().yaml);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().find(GetParam().expected), std::string::npos) << config.error();
  EXPECT_EQ(config.error().rfind("kc.yaml", 0), 0u) << config.error();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KubeConfigErrorTest,
    ::testing::Values(
        BadCase{"NoCurrentContext", "clusters: []\ncontexts: []\n", "current-context is not set"},
        BadCase{"UnknownContext",
                "current-context: x\ncontexts: [{name: y, context: {cluster: k}}]\n",
                "no entry named \"x\""},
        BadCase{"UnknownCluster",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: []\n",
                "no entry named \"k\""},
        BadCase{"ServerWithoutScheme",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                "clusters: [{name: k, cluster: {server: \"k8s.example.com:6443\"}}]\n",
                "must start with https://"},
        BadCase{
            "InsecureWithCa",
            "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
            "clusters: [{name: k, cluster: {server: \"https://k\", insecure-skip-tls-verify: true, "
            "certificate-authority-data: QUJD}}]\n",
            "cannot be combined"},
        BadCase{"BadBase64",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                "clusters: [{name: k, cluster: {server: \"https://k\", certificate-authority-data: "
                "\"%%%\"}}]\n",
                "not valid base64"},
        BadCase{"ExecPluginWithoutApiVersion",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                "clusters: [{name: k, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {exec: {command: aws, args: [eks, get-token]}}}]\n",
                "exec: apiVersion"},
        BadCase{"AuthProvider",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                "clusters: [{name: k, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
                "auth-provider"},
        BadCase{"CertWithoutKey",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                "clusters: [{name: k, cluster: {server: \"https://k\"}}]\n"
                "users: [{name: u, user: {client-certificate-data: QUJD}}]\n",
                "needs its key"},
        BadCase{"MissingCaFile",
                "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                "clusters: [{name: k, cluster: {server: \"https://k\", certificate-authority: "
                "/no/such/ca.crt}}]\n",
                "no such file"}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) {
      return std::string(param_info.param.name);
    });

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(InClusterConfigTest, ReadsServiceHostAndMountedCredentials) {
  TempDir root;
  root.File("token", "pod-token");
  root.File("ca.crt", OtherCaPem());
  root.File("namespace", "irsa-system\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  ASSERT_TRUE(InClusterAvailable(root.path()));
  auto config = InClusterConfig(root.path());
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, root.path() + "/token");
  EXPECT_EQ(config->ca_file, root.path() + "/ca.crt");
  EXPECT_EQ(config->ns, "irsa-system");

  ScopedEnv v6("KUBERNETES_SERVICE_HOST", "fd00::1");
  auto ipv6 = InClusterConfig(root.path());
  ASSERT_TRUE(ipv6.ok()) << ipv6.error();
  EXPECT_EQ(ipv6->server, "https://[fd00::1]:443");
}

TEST(InClusterConfigTest, ResolveOrderIsFlagThenInClusterThenNone) {
  TempDir root;
  root.File("token", "pod-token");
  root.File("ca.crt", OtherCaPem());
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
    auto none = ResolveKubeConfig("", root.path());
    ASSERT_TRUE(none.ok()) << none.error();
    EXPECT_FALSE(none->has_value());  // config-only mode
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  auto in_cluster = ResolveKubeConfig("", root.path());
  ASSERT_TRUE(in_cluster.ok()) << in_cluster.error();
  ASSERT_TRUE(in_cluster->has_value());
  EXPECT_EQ((*in_cluster)->source.rfind("in-cluster", 0), 0u);

  const std::string kubeconfig = root.File("kubeconfig", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://flag.example.com"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  auto flag = ResolveKubeConfig(kubeconfig, root.path());
  ASSERT_TRUE(flag.ok()) << flag.error();
  EXPECT_EQ((*flag)->server, "https://flag.example.com");

  auto missing = ResolveKubeConfig(root.path() + "/nope", root.path());
  EXPECT_FALSE(missing.ok());
}

TEST(TokenSourceTest, ReReadsARotatedTokenFile) {
  TempDir dir;
  const std::string path = dir.File("token", "first-token\n");
  const TokenSource source = TokenSource::File(path);
  auto first = source.Token();
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(*first, "first-token");
  dir.File("token", "second-token-longer\n");  // the kubelet swaps the file atomically
  auto second = source.Token();
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(*second, "second-token-longer");
}

TEST(TokenSourceTest, MissingFileIsAnErrorUntilATokenIsKnown) {
  const TokenSource source = TokenSource::File("/no/such/token");
  EXPECT_FALSE(source.Token().ok());
  EXPECT_EQ(*TokenSource::Static("abc").Token(), "abc");
  EXPECT_EQ(*TokenSource().Token(), "");
}

}  // namespace
}  // namespace irsa::kube
