#include "irsa/config.h"

#include <gtest/gtest.h>

#include "irsa/kube_names.h"
#include "test_support.h"

namespace irsa {
namespace {

using testing::Doc;
using testing::MakeConfig;

constexpr const char* kValidBinding = R"(
  - name: psmdb
    roleArn: arn:aws:iam::111122223333:role/psmdb-backup
    namespaces: [psmdb]
    serviceAccounts: [default])";

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  auto config = ParseConfig(nlohmann::json(), "empty.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->annotation_prefix, "eks.amazonaws.com");
  EXPECT_EQ(config->audience, "sts.amazonaws.com");
  EXPECT_EQ(config->token_expiration_seconds, 86400);
  EXPECT_EQ(config->token_mount_path, "/var/run/secrets/eks.amazonaws.com/serviceaccount");
  EXPECT_EQ(config->keys.role_arn, "eks.amazonaws.com/role-arn");
  EXPECT_TRUE(config->bindings.empty());
}

TEST(ConfigTest, FullConfigParses) {
  const Config c = MakeConfig(R"(
annotationPrefix: irsa.example.com
audience: sts.example.com
tokenExpirationSeconds: 3600
tokenMountPath: /var/run/aws/
region: eu-west-1
stsRegionalEndpoints: true
roleSessionName: true
bindings:
  - name: psmdb
    roleArn: arn:aws-cn:iam::111122223333:role/path/psmdb-backup
    namespaces: ["*"]
    serviceAccounts: [percona-server-mongodb-operator, default]
    preset: percona-server-mongodb
    podSelector:
      matchLabels: {tier: db}
      matchExpressions: [{key: canary, operator: DoesNotExist}]
    containers: [mongod, backup-agent]
    annotateServiceAccounts: false
)");
  EXPECT_EQ(c.keys.role_arn, "irsa.example.com/role-arn");
  EXPECT_EQ(c.keys.skip_pod_label, "irsa.example.com/skip-pod-identity-webhook");
  EXPECT_EQ(c.token_mount_path, "/var/run/aws");
  EXPECT_EQ(c.token_expiration_seconds, 3600);
  ASSERT_EQ(c.bindings.size(), 1U);
  const Binding& b = c.bindings[0];
  EXPECT_EQ(b.preset, Preset::kPerconaServerMongoDB);
  EXPECT_TRUE(b.CoversNamespace("anything"));
  EXPECT_TRUE(b.NamesServiceAccount("default"));
  EXPECT_FALSE(b.NamesServiceAccount("other"));
  EXPECT_TRUE(b.AllowsContainer("mongod"));
  EXPECT_FALSE(b.AllowsContainer("pmm-client"));
  EXPECT_FALSE(b.annotate_service_accounts);
}

TEST(ConfigTest, ExpirationBelowMinimumBecomesMinimum) {
  EXPECT_EQ(MakeConfig("tokenExpirationSeconds: 60").token_expiration_seconds, 600);
}

TEST(ConfigTest, JsonIsAccepted) {
  const Config c = MakeConfig(R"({"region": "us-west-2", "bindings": []})");
  EXPECT_EQ(c.region, "us-west-2");
}

struct InvalidCase {
  const char* name;
  std::string yaml;
  std::string message;  // substring the error must contain
};

class ConfigInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ConfigInvalidTest, RejectedWithMessageNamingFileBindingAndField) {
  auto config = ParseConfig(Doc(GetParam().yaml), "/etc/irsa/config.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().find("/etc/irsa/config.yaml: "), std::string::npos) << config.error();
  EXPECT_NE(config.error().find(GetParam().message), std::string::npos) << config.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigInvalidTest,
    ::testing::Values(
        InvalidCase{"NotAMapping", "[1, 2]", "the config must be a mapping"},
        InvalidCase{"UnknownTopLevelKey", "regoin: us-east-1", "regoin: unknown field"},
        InvalidCase{"BadRegion", "region: useast1", "region: \"useast1\" is not an AWS region"},
        InvalidCase{"RegionWrongType", "region: 5", "region: must be a string"},
        InvalidCase{"StsNotBool", "stsRegionalEndpoints: yes-please",
                    "stsRegionalEndpoints: must be true or false"},
        InvalidCase{"ExpirationNotInteger", "tokenExpirationSeconds: 1.5",
                    "tokenExpirationSeconds: must be an integer"},
        InvalidCase{"ExpirationTooLarge", "tokenExpirationSeconds: 99999999999",
                    "must be at most 4294967296"},
        InvalidCase{"ExpirationHugeFloat", "tokenExpirationSeconds: 1e300",
                    "tokenExpirationSeconds: is out of range"},
        InvalidCase{"ExpirationHugeNegativeFloat", "tokenExpirationSeconds: -1e300",
                    "tokenExpirationSeconds: is out of range"},
        InvalidCase{"ExpirationTwoTo63AsFloat", "tokenExpirationSeconds: 9.223372036854775808e18",
                    "tokenExpirationSeconds: is out of range"},
        InvalidCase{"ExpirationLargestUnsigned", "tokenExpirationSeconds: 18446744073709551615",
                    "tokenExpirationSeconds: is out of range"},
        InvalidCase{"ExpirationNotANumberFloat", "tokenExpirationSeconds: .nan",
                    "tokenExpirationSeconds: must"},
        InvalidCase{"RelativeMountPath", "tokenMountPath: var/run",
                    "tokenMountPath: must be an absolute path"},
        InvalidCase{"BadPrefix", "annotationPrefix: Not_A_Domain",
                    "annotationPrefix: \"Not_A_Domain\" is not a DNS subdomain"},
        InvalidCase{"EmptyAudience", "audience: ''", "audience: must not be empty"},
        InvalidCase{"BindingsNotList", "bindings: {a: 1}", "bindings: must be a list"},
        InvalidCase{"BindingNotMapping", "bindings: [x]", "bindings[0]: must be a mapping"},
        InvalidCase{"MissingName",
                    "bindings:\n  - roleArn: arn:aws:iam::111122223333:role/r\n    namespaces: "
                    "[a]\n    serviceAccounts: [b]",
                    "bindings[0]: name: required"},
        InvalidCase{
            "BadArn",
            "bindings:\n  - name: psmdb\n    roleArn: arn:aws:iam::1111:role/r\n    namespaces: "
            "[a]\n    serviceAccounts: [b]",
            "binding \"psmdb\": roleArn: \"arn:aws:iam::1111:role/r\" is not a valid IAM role ARN"},
        InvalidCase{"UserArnNotRole",
                    "bindings:\n  - name: psmdb\n    roleArn: arn:aws:iam::111122223333:user/bob\n "
                    "   namespaces: [a]\n    serviceAccounts: [b]",
                    "roleArn: \"arn:aws:iam::111122223333:user/bob\" is not a valid IAM role ARN"},
        InvalidCase{"MissingRole",
                    "bindings:\n  - name: psmdb\n    namespaces: [a]\n    serviceAccounts: [b]",
                    "binding \"psmdb\": roleArn: required"},
        InvalidCase{"EmptyNamespaces", std::string("bindings:") + R"(
  - name: psmdb
    roleArn: arn:aws:iam::111122223333:role/psmdb-backup
    namespaces: []
    serviceAccounts: [default])",
                    "binding \"psmdb\": namespaces: required"},
        InvalidCase{"MissingServiceAccounts",
                    "bindings:\n  - name: psmdb\n    roleArn: arn:aws:iam::111122223333:role/r\n   "
                    " namespaces: [a]",
                    "binding \"psmdb\": serviceAccounts: required"},
        InvalidCase{"BadNamespaceName",
                    "bindings:\n  - name: p\n    roleArn: arn:aws:iam::111122223333:role/r\n    "
                    "namespaces: [Psmdb]\n    serviceAccounts: [b]",
                    "namespaces: \"Psmdb\" is not a valid namespace name"},
        InvalidCase{"WildcardNotAlone",
                    "bindings:\n  - name: p\n    roleArn: arn:aws:iam::111122223333:role/r\n    "
                    "namespaces: [a, '*']\n    serviceAccounts: [b]",
                    "namespaces: \"*\" must be the only entry"},
        InvalidCase{"UnknownBindingField",
                    std::string("bindings:") + kValidBinding + "\n    roleARN: x",
                    "binding \"psmdb\": roleARN: unknown field"},
        InvalidCase{"UnknownPreset",
                    std::string("bindings:") + kValidBinding + "\n    preset: mysql",
                    "binding \"psmdb\": preset: unknown preset \"mysql\""},
        InvalidCase{"AnnotateNotBool",
                    std::string("bindings:") + kValidBinding + "\n    annotateServiceAccounts: 1",
                    "annotateServiceAccounts: must be true or false"},
        InvalidCase{"BadContainerName",
                    std::string("bindings:") + kValidBinding + "\n    containers: [Mongod]",
                    "containers: \"Mongod\" is not a valid container name"},
        InvalidCase{"BadSelectorOperator",
                    std::string("bindings:") + kValidBinding +
                        "\n    podSelector:\n      matchExpressions: [{key: a, operator: Equals, "
                        "values: [b]}]",
                    "binding \"psmdb\": podSelector.matchExpressions[0].operator: must be one of "
                    "In, NotIn"},
        InvalidCase{"DuplicateName", std::string("bindings:") + kValidBinding + kValidBinding,
                    "binding \"psmdb\": name: duplicate binding name (bindings[1])"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(ConfigTest, LoadConfigFileNamesTheFile) {
  auto config = LoadConfigFile("/nonexistent/config.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().find("/nonexistent/config.yaml: cannot open"), std::string::npos)
      << config.error();
}

TEST(ConfigTest, LintWarnsAboutDefaultServiceAccountAndNarrowedAnnotatedBindings) {
  const Config c =
      MakeConfig(std::string("bindings:") + kValidBinding + "\n    preset: percona-server-mongodb");
  const auto advice = LintConfig(c);
  ASSERT_EQ(advice.size(), 2U);
  EXPECT_NE(advice[0].find("annotates the \"default\" ServiceAccount"), std::string::npos);
  EXPECT_NE(advice[1].find("annotateServiceAccounts: false"), std::string::npos);
  const Config quiet = MakeConfig(R"(
bindings:
  - name: op
    roleArn: arn:aws:iam::111122223333:role/r
    namespaces: [psmdb]
    serviceAccounts: [percona-server-mongodb-operator]
)");
  EXPECT_TRUE(LintConfig(quiet).empty());
}

struct ArnCase {
  const char* arn;
  bool valid;
};

class RoleArnTest : public ::testing::TestWithParam<ArnCase> {};

TEST_P(RoleArnTest, MatchesSpecPattern) {
  EXPECT_EQ(IsValidRoleArn(GetParam().arn), GetParam().valid) << GetParam().arn;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RoleArnTest,
    ::testing::Values(ArnCase{"arn:aws:iam::111122223333:role/r", true},
                      ArnCase{"arn:aws-cn:iam::111122223333:role/a/b/c", true},
                      ArnCase{"arn:aws-us-gov:iam::111122223333:role/x+=,.@_-y", true},
                      ArnCase{"arn:aws:iam::111122223333:role/", false},
                      ArnCase{"arn:aws:iam::11112222333:role/r", false},
                      ArnCase{"arn:aws:iam::1111222233334:role/r", false},
                      ArnCase{"arn:aws:sts::111122223333:role/r", false},
                      ArnCase{"arn:aws:iam::111122223333:role/r r", false},
                      ArnCase{"arn:AWS:iam::111122223333:role/r", false}, ArnCase{"", false}));

// The preset against the labels the Percona operator sets (pkg/naming/labels.go and the
// StatefulSets of its end-to-end tests).
struct PresetCase {
  std::string name;
  Labels labels;
  bool selected;
};

void PrintTo(const PresetCase& c, std::ostream* os) { *os << c.name; }

class PresetTest : public ::testing::TestWithParam<PresetCase> {};

TEST_P(PresetTest, SelectsTheOperatorAndDataBearingMembers) {
  EXPECT_EQ(PresetSelectsPod(Preset::kPerconaServerMongoDB, GetParam().labels),
            GetParam().selected);
  EXPECT_TRUE(PresetSelectsPod(Preset::kNone, GetParam().labels));
}

Labels Member(const std::string& component) {
  return {{"app.kubernetes.io/name", "percona-server-mongodb"},
          {"app.kubernetes.io/instance", "my-cluster-name"},
          {"app.kubernetes.io/component", component}};
}

INSTANTIATE_TEST_SUITE_P(
    Percona, PresetTest,
    ::testing::Values(
        PresetCase{"mongod", Member("mongod"), true}, PresetCase{"cfg", Member("cfg"), true},
        PresetCase{"nonVoting", Member("nonVoting"), true},
        PresetCase{"hidden", Member("hidden"), true},
        PresetCase{"arbiter", Member("arbiter"), false},
        PresetCase{"mongos", Member("mongos"), false},
        PresetCase{"search", Member("search"), false},
        PresetCase{"external_service", Member("external-service"), false},
        PresetCase{"no_component", {{"app.kubernetes.io/name", "percona-server-mongodb"}}, false},
        PresetCase{"component_case_matters", Member("Cfg"), false},
        PresetCase{"operator_plain_manifests",
                   {{"app.kubernetes.io/name", "percona-server-mongodb-operator"}},
                   true},
        PresetCase{"operator_helm_chart", {{"app.kubernetes.io/name", "psmdb-operator"}}, true},
        PresetCase{"cfg_of_another_app",
                   {{"app.kubernetes.io/name", "other"}, {"app.kubernetes.io/component", "cfg"}},
                   false},
        PresetCase{"no_labels", {}, false}),
    [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace irsa
