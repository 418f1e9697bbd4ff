#include <gtest/gtest.h>

#include "irsa/admission.h"
#include "irsa/mutation.h"
#include "test_support.h"

namespace irsa {
namespace {

using nlohmann::json;
using testing::Doc;
using testing::MakeConfig;

const char* const kBindingConfig = R"(
region: us-east-1
bindings:
  - name: psmdb
    roleArn: arn:aws:iam::111122223333:role/psmdb-backup
    namespaces: [psmdb]
    serviceAccounts: [default]
    preset: percona-server-mongodb
)";

// A Percona data pod in namespace psmdb, SA default, with the given container env/extra fields.
json DataPod(const std::string& containers_yaml = "[{name: mongod, image: m}]",
             const std::string& annotations_yaml = "{}") {
  return Doc(
      R"({apiVersion: v1, kind: Pod, metadata: {name: p, namespace: psmdb, annotations: )" +
      annotations_yaml +
      R"(, labels: {app.kubernetes.io/name: percona-server-mongodb, app.kubernetes.io/component: mongod}},
                spec: {containers: )" +
      containers_yaml + "}}");
}

struct Mutated {
  Mutation mutation;
  json pod;  // with the patch applied
};

Mutated MutateWith(const Config& config, const json& pod, const std::string& sa_yaml = "",
                   const std::string& ns = "psmdb") {
  StaticServiceAccountLookup lookup;
  if (!sa_yaml.empty()) {
    auto sa = ReadServiceAccount(Doc(sa_yaml), config.annotation_prefix);
    EXPECT_TRUE(sa.ok()) << sa.error();
    lookup.Add(*sa);
  }
  auto m = MutatePod(config, pod, ns, &lookup);
  EXPECT_TRUE(m.ok()) << m.error();
  if (!m.ok()) return {};
  Mutated out{std::move(m).value(), pod};
  out.pod = pod.patch(out.mutation.patch.operations());
  for (const auto& op : out.mutation.patch.operations()) EXPECT_EQ(op["op"], "add");
  return out;
}

std::vector<std::string> EnvNames(const json& container) {
  std::vector<std::string> names;
  for (const auto& e : container.value("env", json::array())) names.push_back(e["name"]);
  return names;
}

std::string EnvValue(const json& container, const std::string& name) {
  for (const auto& e : container.value("env", json::array())) {
    if (e["name"] == name && e.contains("value")) return e["value"];
  }
  return "<absent>";
}

json TokenProjection(const json& pod) {
  for (const auto& v : pod["spec"]["volumes"]) {
    if (v["name"] == "aws-iam-token") return v["projected"]["sources"][0]["serviceAccountToken"];
  }
  return nullptr;
}

// --- Settings precedence: pod annotation > ServiceAccount annotation > config -------------

struct ExpirationCase {
  const char* name;
  const char* pod_value;  // nullptr: no annotation
  const char* sa_value;
  std::int64_t config_value;
  std::int64_t expected;
};

class TokenExpirationPrecedenceTest : public ::testing::TestWithParam<ExpirationCase> {};

TEST_P(TokenExpirationPrecedenceTest, PodThenServiceAccountThenConfig) {
  const auto& c = GetParam();
  const Config config = MakeConfig(std::string(kBindingConfig) +
                                   "tokenExpirationSeconds: " + std::to_string(c.config_value));
  const std::string annotations =
      c.pod_value ? std::string("{eks.amazonaws.com/token-expiration: '") + c.pod_value + "'}"
                  : "{}";
  const std::string sa =
      c.sa_value ? std::string(
                       "{kind: ServiceAccount, metadata: {name: default, namespace: psmdb, "
                       "annotations: {eks.amazonaws.com/token-expiration: '") +
                       c.sa_value + "'}}}"
                 : "";
  const Mutated m = MutateWith(config, DataPod("[{name: mongod, image: m}]", annotations), sa);
  EXPECT_EQ(TokenProjection(m.pod)["expirationSeconds"], c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TokenExpirationPrecedenceTest,
    ::testing::Values(
        ExpirationCase{"ConfigOnly", nullptr, nullptr, 86400, 86400},
        ExpirationCase{"PodWins", "3600", "7200", 86400, 3600},
        ExpirationCase{"PodBelowMinimum", "100", "7200", 86400, 600},
        ExpirationCase{"PodZero", "0", nullptr, 86400, 600},
        ExpirationCase{"PodNegative", "-5", nullptr, 86400, 600},
        ExpirationCase{"PodGarbageFallsToServiceAccount", "one-day", "7200", 86400, 7200},
        ExpirationCase{"PodEmptyFallsToServiceAccount", "", "7200", 86400, 7200},
        ExpirationCase{"PodAboveKubernetesMaximumFallsBack", "99999999999", nullptr, 3600, 3600},
        ExpirationCase{"PodTrailingJunkFallsBack", "3600s", nullptr, 1200, 1200},
        ExpirationCase{"ServiceAccountWins", nullptr, "7200", 86400, 7200},
        ExpirationCase{"ServiceAccountBelowMinimum", nullptr, "60", 86400, 600},
        ExpirationCase{"ServiceAccountGarbageFallsToConfig", nullptr, "x", 1200, 1200},
        ExpirationCase{"ConfigBelowMinimum", nullptr, nullptr, 10, 600}),
    [](const auto& p) { return std::string(p.param.name); });

struct ServiceAccountSettingCase {
  const char* name;
  const char* sa_annotations;
  bool config_sts;
  const char* expected_audience;
  bool expected_sts;
};

class ServiceAccountSettingsTest : public ::testing::TestWithParam<ServiceAccountSettingCase> {};

TEST_P(ServiceAccountSettingsTest, AudienceAndRegionalStsFromServiceAccountOverConfig) {
  const auto& c = GetParam();
  const Config config = MakeConfig(std::string(kBindingConfig) +
                                   "stsRegionalEndpoints: " + (c.config_sts ? "true" : "false"));
  const Mutated m = MutateWith(
      config, DataPod(),
      std::string(
          "{kind: ServiceAccount, metadata: {name: default, namespace: psmdb, annotations: ") +
          c.sa_annotations + "}}");
  EXPECT_EQ(TokenProjection(m.pod)["audience"], c.expected_audience);
  EXPECT_EQ(EnvValue(m.pod["spec"]["containers"][0], "AWS_STS_REGIONAL_ENDPOINTS"),
            c.expected_sts ? "regional" : "<absent>");
}

INSTANTIATE_TEST_SUITE_P(
    Table, ServiceAccountSettingsTest,
    ::testing::Values(
        ServiceAccountSettingCase{"Defaults", "{}", false, "sts.amazonaws.com", false},
        ServiceAccountSettingCase{"AudienceFromServiceAccount",
                                  "{eks.amazonaws.com/audience: sts.example.com}", false,
                                  "sts.example.com", false},
        ServiceAccountSettingCase{"EmptyAudienceFallsBack", "{eks.amazonaws.com/audience: ''}",
                                  false, "sts.amazonaws.com", false},
        ServiceAccountSettingCase{"StsOnFromServiceAccount",
                                  "{eks.amazonaws.com/sts-regional-endpoints: 'true'}", false,
                                  "sts.amazonaws.com", true},
        ServiceAccountSettingCase{"StsOffFromServiceAccountBeatsConfig",
                                  "{eks.amazonaws.com/sts-regional-endpoints: 'false'}", true,
                                  "sts.amazonaws.com", false},
        ServiceAccountSettingCase{"StsGoSpellings",
                                  "{eks.amazonaws.com/sts-regional-endpoints: 'T'}", false,
                                  "sts.amazonaws.com", true},
        ServiceAccountSettingCase{"StsGarbageFallsToConfig",
                                  "{eks.amazonaws.com/sts-regional-endpoints: 'maybe'}", true,
                                  "sts.amazonaws.com", true},
        ServiceAccountSettingCase{"OtherPrefixIgnored", "{other.example.com/audience: x}", false,
                                  "sts.amazonaws.com", false}),
    [](const auto& p) { return std::string(p.param.name); });

// --- Presence rules: never add a name the container already has -----------------------------

struct PresenceCase {
  const char* name;
  const char* env_yaml;
  std::vector<std::string> expected_env;  // names after mutation, in order
};

class EnvPresenceTest : public ::testing::TestWithParam<PresenceCase> {};

TEST_P(EnvPresenceTest, AddsOnlyWhatIsMissingInSpecOrder) {
  const Config config =
      MakeConfig(std::string(kBindingConfig) + "stsRegionalEndpoints: true\nroleSessionName: true");
  const Mutated m = MutateWith(
      config, DataPod(std::string("[{name: mongod, image: m, env: ") + GetParam().env_yaml + "}]"));
  EXPECT_EQ(EnvNames(m.pod["spec"]["containers"][0]), GetParam().expected_env);
}

INSTANTIATE_TEST_SUITE_P(
    Table, EnvPresenceTest,
    ::testing::Values(
        PresenceCase{"NothingPresent",
                     "[]",
                     {"AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION",
                      "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME"}},
        PresenceCase{"RoleArnViaValueFromKeepsPair",
                     "[{name: AWS_ROLE_ARN, valueFrom: {secretKeyRef: {name: s, key: k}}}]",
                     {"AWS_ROLE_ARN", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION",
                      "AWS_REGION", "AWS_ROLE_SESSION_NAME"}},
        PresenceCase{"TokenFileAloneKeepsPair",
                     "[{name: AWS_WEB_IDENTITY_TOKEN_FILE, value: /t}]",
                     {"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS",
                      "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_SESSION_NAME"}},
        PresenceCase{"OneRegionNameKeepsBoth",
                     "[{name: AWS_DEFAULT_REGION, value: eu-west-1}]",
                     {"AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_ARN",
                      "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME"}},
        PresenceCase{"StsAndSessionPresent",
                     "[{name: AWS_STS_REGIONAL_ENDPOINTS, value: legacy}, {name: "
                     "AWS_ROLE_SESSION_NAME, value: me}]",
                     {"AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_SESSION_NAME", "AWS_DEFAULT_REGION",
                      "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"}},
        PresenceCase{"NullEnvIsCreated",
                     "null",
                     {"AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION",
                      "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME"}}),
    [](const auto& p) { return std::string(p.param.name); });

// --- Role resolution ---------------------------------------------------------------------------

TEST(PodMutatorTest, FirstMatchingBindingWins) {
  const Config config = MakeConfig(R"(
bindings:
  - {name: a, roleArn: "arn:aws:iam::111122223333:role/a", namespaces: [psmdb], serviceAccounts: ["*"], podSelector: {matchLabels: {x: "1"}}}
  - {name: b, roleArn: "arn:aws:iam::111122223333:role/b", namespaces: ["*"], serviceAccounts: [default]}
  - {name: c, roleArn: "arn:aws:iam::111122223333:role/c", namespaces: [psmdb], serviceAccounts: [default]}
)");
  const Mutated m = MutateWith(config, DataPod());
  EXPECT_EQ(m.mutation.binding, "b");
  EXPECT_EQ(EnvValue(m.pod["spec"]["containers"][0], "AWS_ROLE_ARN"),
            "arn:aws:iam::111122223333:role/b");
}

TEST(PodMutatorTest, CoveredServiceAccountAnnotationDoesNotWidenBindings) {
  const Config config = MakeConfig(kBindingConfig);
  json pod = DataPod();
  pod["metadata"]["labels"] = {{"app", "debug"}};  // not selected by the preset
  const Mutated m =
      MutateWith(config, pod,
                 "{kind: ServiceAccount, metadata: {name: default, namespace: psmdb, annotations: "
                 "{eks.amazonaws.com/role-arn: 'arn:aws:iam::111122223333:role/psmdb-backup'}}}");
  EXPECT_EQ(m.mutation.outcome, Outcome::kSkipped);
  EXPECT_TRUE(m.mutation.patch.empty());
  EXPECT_NE(m.mutation.reason.find("does not select this pod"), std::string::npos);
}

TEST(PodMutatorTest, ServiceAccountRoleAppliesToAllContainersWhenNoBindingCovers) {
  const Config config = MakeConfig(R"(
bindings:
  - {name: other, roleArn: "arn:aws:iam::111122223333:role/x", namespaces: [psmdb], serviceAccounts: [default], containers: [mongod]}
)");
  const json pod = Doc(R"({kind: Pod, metadata: {name: r}, spec: {serviceAccountName: reader,
      initContainers: [{name: init, image: i}], containers: [{name: a, image: a}, {name: b, image: b}],
      ephemeralContainers: [{name: debugger, image: d}]}})");
  const Mutated m =
      MutateWith(config, pod,
                 "{kind: ServiceAccount, metadata: {name: reader, namespace: apps, annotations: "
                 "{eks.amazonaws.com/role-arn: 'arn:aws:iam::444455556666:role/reader'}}}",
                 "apps");
  EXPECT_EQ(m.mutation.outcome, Outcome::kMutated);
  EXPECT_EQ(m.mutation.binding, "");
  EXPECT_EQ(EnvValue(m.pod["spec"]["initContainers"][0], "AWS_ROLE_ARN"),
            "arn:aws:iam::444455556666:role/reader");
  EXPECT_EQ(EnvValue(m.pod["spec"]["containers"][1], "AWS_ROLE_ARN"),
            "arn:aws:iam::444455556666:role/reader");
  EXPECT_FALSE(
      m.pod["spec"]["ephemeralContainers"][0].contains("env"));  // never ephemeral containers
}

TEST(PodMutatorTest, ServiceAccountInOtherNamespaceIsNotUsed) {
  const Config config;
  const Mutated m = MutateWith(
      config, DataPod(),
      "{kind: ServiceAccount, metadata: {name: default, namespace: elsewhere, annotations: "
      "{eks.amazonaws.com/role-arn: 'arn:aws:iam::444455556666:role/reader'}}}");
  EXPECT_EQ(m.mutation.outcome, Outcome::kSkipped);
}

TEST(PodMutatorTest, CustomPrefixMountPathAndWindowsViaPodOs) {
  const Config config = MakeConfig(R"(
annotationPrefix: irsa.example.com
tokenMountPath: /var/run/aws
bindings:
  - {name: b, roleArn: "arn:aws:iam::111122223333:role/b", namespaces: ["*"], serviceAccounts: ["*"]}
)");
  const json pod = Doc(
      R"({kind: Pod, metadata: {name: w, labels: {eks.amazonaws.com/skip-pod-identity-webhook: "x"}},
      spec: {os: {name: windows}, containers: [{name: app, image: a}]}})");
  const Mutated m = MutateWith(config, pod, "", "apps");
  EXPECT_EQ(m.mutation.outcome, Outcome::kMutated);  // the eks.amazonaws.com skip label is not ours
  EXPECT_EQ(EnvValue(m.pod["spec"]["containers"][0], "AWS_WEB_IDENTITY_TOKEN_FILE"),
            "C:\\var\\run\\aws\\token");
  EXPECT_EQ(m.pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"], "/var/run/aws");
}

TEST(PodMutatorTest, WarningsAreCapped) {
  const Config config = MakeConfig(kBindingConfig);
  std::string containers = "[";
  for (int i = 0; i < 10; ++i) {
    containers += std::string(i ? "," : "") + "{name: c" + std::to_string(i) +
                  ", image: x, env: [{name: AWS_ACCESS_KEY_ID, value: k}]}";
  }
  const Mutated m = MutateWith(config, DataPod(containers + "]"));
  ASSERT_EQ(m.mutation.warnings.size(), kMaxWarnings);
  EXPECT_NE(m.mutation.warnings[3].find("\"c3\" sets AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_EQ(m.mutation.warnings[4], "... and 6 more warnings not shown");
  EXPECT_EQ(m.mutation.outcome, Outcome::kMutated);
}

// --- Malformed pods: a clear error naming the field, never an exception ------------------------

struct MalformedCase {
  const char* name;
  const char* pod;
  const char* message;
};

class MalformedPodTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedPodTest, ErrorNamesTheField) {
  const Config config = MakeConfig(kBindingConfig);
  auto m = MutatePod(config, Doc(GetParam().pod), "psmdb", nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find(GetParam().message), std::string::npos) << m.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedPodTest,
    ::testing::Values(
        MalformedCase{"NotObject", "[1]", "the Pod must be an object"},
        MalformedCase{"NoSpec", "{metadata: {name: x}}", "spec: required"},
        MalformedCase{"NoContainers", "{spec: {containers: []}}", "spec.containers: required"},
        MalformedCase{"OnlyInitContainers", "{spec: {initContainers: [{name: i}]}}",
                      "spec.containers: required"},
        MalformedCase{"ContainersNotList", "{spec: {containers: {name: x}}}",
                      "spec.containers: must be a list"},
        MalformedCase{"ContainerNameMissing", "{spec: {containers: [{image: x}]}}",
                      "spec.containers[0].name: must be a string"},
        MalformedCase{"EnvNotList", "{spec: {containers: [{name: a, env: x}]}}",
                      "spec.containers[0].env: must be a list"},
        MalformedCase{"EnvNameNumber", "{spec: {containers: [{name: a, env: [{name: 1}]}]}}",
                      "spec.containers[0].env[0].name: must be a string"},
        MalformedCase{"MountPathNumber",
                      "{spec: {initContainers: [{name: i, volumeMounts: [{name: v, mountPath: "
                      "3}]}], containers: [{name: a}]}}",
                      "spec.initContainers[0].volumeMounts[0].mountPath: must be a string"},
        MalformedCase{"LabelsNotStrings",
                      "{metadata: {labels: {a: 1}}, spec: {containers: [{name: a}]}}",
                      "metadata.labels[\"a\"]: must be a string"},
        MalformedCase{"MetadataNotObject", "{metadata: x, spec: {containers: [{name: a}]}}",
                      "metadata: must be an object"},
        MalformedCase{"VolumesNotList", "{spec: {volumes: 1, containers: [{name: a}]}}",
                      "spec.volumes: must be a list"},
        MalformedCase{"ServiceAccountNameNotString",
                      "{spec: {serviceAccountName: [], containers: [{name: a}]}}",
                      "spec.serviceAccountName: must be a string"}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace irsa
