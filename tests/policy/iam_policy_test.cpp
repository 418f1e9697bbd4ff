// Unit tests of the IAM document builders (include/irsa/iam_policy.h): input validation with
// actionable messages, and what the documents let in, checked with the evaluator of
// policy_test_support.h rather than by reading JSON.
#include "irsa/iam_policy.h"

#include <gtest/gtest.h>

#include "irsa/document.h"
#include "policy_test_support.h"

namespace irsa {
namespace {

using nlohmann::json;
using testing::TrustAllows;

constexpr const char* kIssuer =
    "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
constexpr const char* kProviderArn =
    "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/"
    "EXAMPLED539D4633E53DE1B71EXAMPLE";
constexpr const char* kRole = "arn:aws:iam::111122223333:role/psmdb-backup";

Config ConfigFrom(const std::string& yaml) {
  auto doc = ParseDocument(yaml);
  EXPECT_TRUE(doc.ok()) << doc.error();
  auto config = ParseConfig(doc.ok() ? *doc : json(), "test.yaml");
  EXPECT_TRUE(config.ok()) << config.error();
  return config.ok() ? *config : Config();
}

TrustPolicyOptions ByArn(std::string role_arn = "") {
  TrustPolicyOptions o;
  o.oidc_provider_arn = kProviderArn;
  o.role_arn = std::move(role_arn);
  return o;
}

json Doc(const PolicyDocument& d) { return json::parse(d.dump()); }

std::string Messages(const std::vector<PolicyNote>& notes, PolicyNote::Level level) {
  std::string out;
  for (const auto& n : notes) {
    if (n.level == level) out += n.message + "\n";
  }
  return out;
}

// --- OIDC provider inputs ---

struct ProviderArnCase {
  std::string name;
  std::string arn;
  std::string error;  // substring; empty = valid
  std::string issuer = "";
  std::string partition = "";
};

class ProviderArnTest : public ::testing::TestWithParam<ProviderArnCase> {};

TEST_P(ProviderArnTest, Parses) {
  const auto& c = GetParam();
  const auto provider = ParseOidcProviderArn(c.arn);
  if (c.error.empty()) {
    ASSERT_TRUE(provider.ok()) << provider.error();
    EXPECT_EQ(provider->issuer, c.issuer);
    EXPECT_EQ(provider->partition, c.partition);
    EXPECT_EQ(provider->account_id, "111122223333");
    EXPECT_EQ(provider->arn, c.arn);
  } else {
    ASSERT_FALSE(provider.ok());
    EXPECT_NE(provider.error().find(c.error), std::string::npos) << provider.error();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProviderArnTest,
    ::testing::Values(
        ProviderArnCase{"Eks", kProviderArn, "", kIssuer, "aws"},
        ProviderArnCase{
            "China",
            "arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/AB",
            "", "oidc.eks.cn-north-1.amazonaws.com.cn/id/AB", "aws-cn"},
        ProviderArnCase{"GovCloud",
                        "arn:aws-us-gov:iam::111122223333:oidc-provider/"
                        "oidc.eks.us-gov-west-1.amazonaws.com/id/AB",
                        "", "oidc.eks.us-gov-west-1.amazonaws.com/id/AB", "aws-us-gov"},
        ProviderArnCase{"HostOnly", "arn:aws:iam::111122223333:oidc-provider/issuer.example.com",
                        "", "issuer.example.com", "aws"},
        ProviderArnCase{"IssuerUrlInstead", std::string("https://") + kIssuer,
                        "is an issuer URL, not an ARN"},
        ProviderArnCase{"ShortAccount", "arn:aws:iam::11112222333:oidc-provider/x.example.com",
                        "list-open-id-connect-providers"},
        ProviderArnCase{"WrongService", "arn:aws:sts::111122223333:oidc-provider/x.example.com",
                        "not an IAM OIDC provider ARN"},
        ProviderArnCase{"Region", "arn:aws:iam:us-east-1:111122223333:oidc-provider/x.example.com",
                        "not an IAM OIDC provider ARN"},
        ProviderArnCase{"SamlProvider", "arn:aws:iam::111122223333:saml-provider/x",
                        "not an IAM OIDC provider ARN"},
        ProviderArnCase{"NoIssuer", "arn:aws:iam::111122223333:oidc-provider/",
                        "issuer host is missing"},
        ProviderArnCase{"Port", "arn:aws:iam::111122223333:oidc-provider/x.example.com:8443/id",
                        "port"},
        ProviderArnCase{"TrailingSlash",
                        "arn:aws:iam::111122223333:oidc-provider/x.example.com/id/", "trailing"},
        ProviderArnCase{"Query", "arn:aws:iam::111122223333:oidc-provider/x.example.com/id?a=b",
                        "query"},
        ProviderArnCase{"Wildcard", "arn:aws:iam::111122223333:oidc-provider/*.example.com",
                        "not a DNS name"}),
    [](const auto& param_info) { return param_info.param.name; });

struct IssuerCase {
  std::string name;
  std::string account;
  std::string url;
  std::string error;  // substring; empty = valid
  std::string arn = "";
};

class IssuerTest : public ::testing::TestWithParam<IssuerCase> {};

TEST_P(IssuerTest, BuildsProviderArn) {
  const auto& c = GetParam();
  const auto provider = OidcProviderFromIssuer("aws", c.account, c.url);
  if (c.error.empty()) {
    ASSERT_TRUE(provider.ok()) << provider.error();
    EXPECT_EQ(provider->arn, c.arn);
  } else {
    ASSERT_FALSE(provider.ok());
    EXPECT_NE(provider.error().find(c.error), std::string::npos) << provider.error();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IssuerTest,
    ::testing::Values(
        IssuerCase{"Eks", "111122223333", std::string("https://") + kIssuer, "", kProviderArn},
        IssuerCase{"TrailingSlashDropped", "111122223333", std::string("https://") + kIssuer + "/",
                   "", kProviderArn},
        IssuerCase{"UpperCaseScheme", "111122223333", std::string("HTTPS://") + kIssuer, "",
                   kProviderArn},
        IssuerCase{"Http", "111122223333", std::string("http://") + kIssuer,
                   "must be an https:// URL"},
        IssuerCase{"NoScheme", "111122223333", kIssuer, "describe-cluster"},
        IssuerCase{"Port", "111122223333", "https://issuer.example.com:443/id/x", "port"},
        IssuerCase{"UserInfo", "111122223333", "https://user@issuer.example.com", "user name"},
        IssuerCase{"EmptyHost", "111122223333", "https://", "missing"},
        IssuerCase{"AccountTooShort", "11112222333", std::string("https://") + kIssuer, "12-digit"},
        IssuerCase{"AccountLetters", "11112222333a", std::string("https://") + kIssuer,
                   "get-caller-identity"}),
    [](const auto& param_info) { return param_info.param.name; });

// --- Trust policies ---

TEST(TrustPolicyTest, ExplicitSubjectsUnderStringEqualsAsSortedList) {
  const Config config = ConfigFrom(R"(
bindings:
  - name: psmdb
    roleArn: arn:aws:iam::111122223333:role/psmdb-backup
    namespaces: [psmdb]
    serviceAccounts: [zeta, alpha])");
  const auto policies = BuildTrustPolicies(config, ByArn());
  ASSERT_TRUE(policies.ok()) << policies.error();
  ASSERT_EQ(policies->roles.size(), 1u);
  const json doc = Doc(policies->roles[0].document);
  const json& condition = doc["Statement"][0]["Condition"];
  EXPECT_FALSE(condition.contains("StringLike"));
  EXPECT_EQ(condition["StringEquals"][std::string(kIssuer) + ":aud"], "sts.amazonaws.com");
  EXPECT_EQ(condition["StringEquals"][std::string(kIssuer) + ":sub"],
            json({"system:serviceaccount:psmdb:alpha", "system:serviceaccount:psmdb:zeta"}));
  EXPECT_EQ(doc["Statement"][0]["Principal"]["Federated"], kProviderArn);
  EXPECT_TRUE(TrustAllows(doc, kIssuer, "psmdb", "alpha", "sts.amazonaws.com"));
  EXPECT_FALSE(TrustAllows(doc, kIssuer, "psmdb", "other", "sts.amazonaws.com"));
  EXPECT_FALSE(TrustAllows(doc, kIssuer, "other", "alpha", "sts.amazonaws.com"));
  EXPECT_FALSE(TrustAllows(doc, kIssuer, "psmdb", "alpha", "another-audience"));
  // A single subject is still a list: one form everywhere.
  const Config one = ConfigFrom(R"(
bindings:
  - {name: a, roleArn: "arn:aws:iam::111122223333:role/r", namespaces: [n], serviceAccounts: [s]})");
  const auto single = BuildTrustPolicies(one, ByArn());
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(Doc(single->roles[0].document)["Statement"][0]["Condition"]["StringEquals"]
                                            [std::string(kIssuer) + ":sub"]
                                                .is_array());
}

TEST(TrustPolicyTest, AudienceComesFromConfig) {
  const Config config = ConfigFrom(R"(
audience: irsa.example.com
bindings:
  - {name: a, roleArn: "arn:aws:iam::111122223333:role/r", namespaces: [n], serviceAccounts: [s]})");
  const auto policies = BuildTrustPolicies(config, ByArn());
  ASSERT_TRUE(policies.ok());
  const json doc = Doc(policies->roles[0].document);
  EXPECT_TRUE(TrustAllows(doc, kIssuer, "n", "s", "irsa.example.com"));
  EXPECT_FALSE(TrustAllows(doc, kIssuer, "n", "s", "sts.amazonaws.com"));
}

struct WildcardCase {
  std::string name;
  std::string bindings;  // YAML list items
  std::vector<std::pair<std::string, std::string>> allowed;
  std::vector<std::pair<std::string, std::string>> refused;
  std::string warning;  // substring of the warnings
  std::size_t subjects;
};

class TrustWildcardTest : public ::testing::TestWithParam<WildcardCase> {};

// Patterns and exact subjects share one StringLike list (ANDed operators would otherwise
// require a token to match both), and the evaluator proves who gets in.
TEST_P(TrustWildcardTest, LetsInExactlyTheBoundServiceAccounts) {
  const auto& c = GetParam();
  const auto policies = BuildTrustPolicies(ConfigFrom("bindings:\n" + c.bindings), ByArn());
  ASSERT_TRUE(policies.ok()) << policies.error();
  ASSERT_EQ(policies->roles.size(), 1u);
  const json doc = Doc(policies->roles[0].document);
  const json& condition = doc["Statement"][0]["Condition"];
  EXPECT_FALSE(condition["StringEquals"].contains(std::string(kIssuer) + ":sub"))
      << condition.dump();
  ASSERT_TRUE(condition.contains("StringLike")) << condition.dump();
  EXPECT_EQ(condition["StringLike"][std::string(kIssuer) + ":sub"].size(), c.subjects)
      << condition.dump();
  for (const auto& [ns, sa] : c.allowed)
    EXPECT_TRUE(TrustAllows(doc, kIssuer, ns, sa, "sts.amazonaws.com")) << ns << "/" << sa;
  for (const auto& [ns, sa] : c.refused)
    EXPECT_FALSE(TrustAllows(doc, kIssuer, ns, sa, "sts.amazonaws.com")) << ns << "/" << sa;
  EXPECT_NE(Messages(policies->notes, PolicyNote::Level::kWarning).find(c.warning),
            std::string::npos)
      << Messages(policies->notes, PolicyNote::Level::kWarning);
  EXPECT_TRUE(testing::PolicyShapeProblems(doc, testing::PolicyKind::kTrust).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TrustWildcardTest,
    ::testing::Values(
        WildcardCase{"AnyNamespace",
                     "  - {name: a, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [\"*\"], "
                     "serviceAccounts: [backup]}\n"
                     "  - {name: b, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [psmdb], "
                     "serviceAccounts: [operator]}\n",
                     {{"psmdb", "backup"}, {"anything", "backup"}, {"psmdb", "operator"}},
                     {{"psmdb", "other"}, {"other", "operator"}},
                     "a ServiceAccount named \"backup\" in any namespace",
                     2},
        WildcardCase{"AnyServiceAccount",
                     "  - {name: a, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [psmdb], "
                     "serviceAccounts: [\"*\"]}\n"
                     "  - {name: b, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [ops], "
                     "serviceAccounts: [operator]}\n",
                     {{"psmdb", "anything"}, {"ops", "operator"}},
                     {{"ops", "other"}, {"psmdb-other", "x"}},
                     "every ServiceAccount in namespace \"psmdb\"",
                     2},
        WildcardCase{"CoveredSubjectsDropped",
                     "  - {name: a, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [psmdb], "
                     "serviceAccounts: [\"*\"]}\n"
                     "  - {name: b, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [psmdb], "
                     "serviceAccounts: [operator, default]}\n",
                     {{"psmdb", "operator"}, {"psmdb", "x"}},
                     {{"other", "operator"}},
                     "every ServiceAccount in namespace \"psmdb\"",
                     1},
        WildcardCase{"Everything",
                     "  - {name: a, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [\"*\"], "
                     "serviceAccounts: [\"*\"]}\n"
                     "  - {name: b, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [\"*\"], "
                     "serviceAccounts: [backup]}\n"
                     "  - {name: c, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [psmdb], "
                     "serviceAccounts: [\"*\"]}\n",
                     {{"a", "b"}, {"kube-system", "default"}},
                     {},
                     "every ServiceAccount in every namespace",
                     1},
        WildcardCase{"DefaultEverywhere",
                     "  - {name: a, roleArn: \"arn:aws:iam::111122223333:role/psmdb-backup\", "
                     "namespaces: [\"*\"], "
                     "serviceAccounts: [default]}\n",
                     {{"psmdb", "default"}, {"kube-system", "default"}},
                     {{"psmdb", "operator"}},
                     "the \"default\" ServiceAccount of every namespace",
                     1}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(TrustPolicyTest, OneDocumentPerRoleSortedAndOutputShape) {
  const Config config = ConfigFrom(R"(
bindings:
  - {name: z, roleArn: "arn:aws:iam::111122223333:role/zz", namespaces: [a], serviceAccounts: [s]}
  - {name: y, roleArn: "arn:aws:iam::111122223333:role/aa", namespaces: [b], serviceAccounts: [s]}
  - {name: x, roleArn: "arn:aws:iam::111122223333:role/zz", namespaces: [c], serviceAccounts: [s]})");
  const auto policies = BuildTrustPolicies(config, ByArn());
  ASSERT_TRUE(policies.ok());
  ASSERT_EQ(policies->roles.size(), 2u);
  EXPECT_EQ(policies->roles[0].role_arn, "arn:aws:iam::111122223333:role/aa");
  EXPECT_EQ(policies->roles[1].bindings, (std::vector<std::string>{"z", "x"}));
  const json output = Doc(TrustPolicyOutput(*policies));
  ASSERT_EQ(output.size(), 2u);
  EXPECT_TRUE(TrustAllows(output["arn:aws:iam::111122223333:role/zz"], kIssuer, "c", "s",
                          "sts.amazonaws.com"));
  EXPECT_FALSE(TrustAllows(output["arn:aws:iam::111122223333:role/aa"], kIssuer, "c", "s",
                           "sts.amazonaws.com"));
  const std::string notes = Messages(policies->notes, PolicyNote::Level::kNote);
  EXPECT_NE(notes.find("trust policy for arn:aws:iam::111122223333:role/aa (binding y;"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("trust policy for arn:aws:iam::111122223333:role/zz (bindings z, x;"),
            std::string::npos)
      << notes;

  const auto selected = BuildTrustPolicies(config, ByArn("arn:aws:iam::111122223333:role/zz"));
  ASSERT_TRUE(selected.ok());
  const json one = Doc(TrustPolicyOutput(*selected));
  EXPECT_EQ(one["Version"], "2012-10-17");
  EXPECT_TRUE(TrustAllows(one, kIssuer, "a", "s", "sts.amazonaws.com"));
}

TEST(TrustPolicyTest, PartitionOfProviderFollowsTheRole) {
  const Config config = ConfigFrom(R"(
bindings:
  - {name: cn, roleArn: "arn:aws-cn:iam::111122223333:role/r", namespaces: [n], serviceAccounts: [s]}
  - {name: gov, roleArn: "arn:aws-us-gov:iam::111122223333:role/r", namespaces: [n], serviceAccounts: [s]})");
  TrustPolicyOptions options;
  options.account_id = "111122223333";
  options.oidc_issuer_url = "https://issuer.example.com/id/1";
  const auto policies = BuildTrustPolicies(config, options);
  ASSERT_TRUE(policies.ok()) << policies.error();
  ASSERT_EQ(policies->roles.size(), 2u);
  EXPECT_EQ(Doc(policies->roles[0].document)["Statement"][0]["Principal"]["Federated"],
            "arn:aws-cn:iam::111122223333:oidc-provider/issuer.example.com/id/1");
  EXPECT_EQ(Doc(policies->roles[1].document)["Statement"][0]["Principal"]["Federated"],
            "arn:aws-us-gov:iam::111122223333:oidc-provider/issuer.example.com/id/1");
}

struct TrustErrorCase {
  std::string name;
  std::string config;
  TrustPolicyOptions options;
  std::string error;
};

class TrustErrorTest : public ::testing::TestWithParam<TrustErrorCase> {};

TEST_P(TrustErrorTest, RefusesWithActionableMessage) {
  const auto& c = GetParam();
  const auto policies = BuildTrustPolicies(ConfigFrom(c.config), c.options);
  ASSERT_FALSE(policies.ok());
  EXPECT_NE(policies.error().find(c.error), std::string::npos) << policies.error();
  EXPECT_EQ(policies.error().find('\n'), std::string::npos) << "one line";
}

TrustPolicyOptions Options(std::string provider_arn, std::string account, std::string issuer,
                           std::string role) {
  TrustPolicyOptions o;
  o.oidc_provider_arn = std::move(provider_arn);
  o.account_id = std::move(account);
  o.oidc_issuer_url = std::move(issuer);
  o.role_arn = std::move(role);
  return o;
}

constexpr const char* kOneBinding = R"(
bindings:
  - {name: psmdb, roleArn: "arn:aws:iam::111122223333:role/psmdb-backup", namespaces: [psmdb], serviceAccounts: [s]})";

INSTANTIATE_TEST_SUITE_P(
    Cases, TrustErrorTest,
    ::testing::Values(
        TrustErrorCase{"NoBindings", "region: us-east-1", Options(kProviderArn, "", "", ""),
                       "no bindings"},
        TrustErrorCase{"RoleNotInConfig", kOneBinding,
                       Options(kProviderArn, "", "", "arn:aws:iam::111122223333:role/other"),
                       "not the roleArn of any binding (the config's roles: "
                       "arn:aws:iam::111122223333:role/psmdb-backup)"},
        TrustErrorCase{"RoleArnMalformed", kOneBinding,
                       Options(kProviderArn, "", "", "psmdb-backup"), "not a valid IAM role ARN"},
        TrustErrorCase{"BothProviderForms", kOneBinding,
                       Options(kProviderArn, "111122223333", "https://issuer.example.com", ""),
                       "not both"},
        TrustErrorCase{"AccountWithoutIssuer", kOneBinding, Options("", "111122223333", "", ""),
                       "both an account ID"},
        TrustErrorCase{
            "ProviderOtherAccount", kOneBinding,
            Options("arn:aws:iam::444455556666:oidc-provider/issuer.example.com", "", "", ""),
            "registered in its own account"},
        TrustErrorCase{"AccountIdOtherAccount", kOneBinding,
                       Options("", "444455556666", "https://issuer.example.com", ""),
                       "is in account 111122223333"},
        TrustErrorCase{
            "ProviderOtherPartition", kOneBinding,
            Options("arn:aws-cn:iam::111122223333:oidc-provider/issuer.example.com", "", "", ""),
            "partition aws but OIDC provider"},
        TrustErrorCase{"BadProviderArn", kOneBinding,
                       Options("arn:aws:iam::111122223333:role/x", "", "", ""),
                       "not an IAM OIDC provider ARN"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(TrustPolicyTest, WarnsAboutDefaultServiceAccountAndNarrowedBindings) {
  const Config config = ConfigFrom(R"(
bindings:
  - name: psmdb
    roleArn: arn:aws:iam::111122223333:role/psmdb-backup
    namespaces: [psmdb]
    serviceAccounts: [default, operator]
    preset: percona-server-mongodb)");
  const auto policies = BuildTrustPolicies(config, ByArn());
  ASSERT_TRUE(policies.ok());
  const std::string warnings = Messages(policies->notes, PolicyNote::Level::kWarning);
  EXPECT_NE(warnings.find("the \"default\" ServiceAccount (binding \"psmdb\": "
                          "system:serviceaccount:psmdb:default)"),
            std::string::npos)
      << warnings;
  EXPECT_EQ(warnings.find("operator"), std::string::npos)
      << "no warning for a dedicated ServiceAccount";
  const std::string notes = Messages(policies->notes, PolicyNote::Level::kNote);
  EXPECT_NE(notes.find("binding \"psmdb\" narrows which pods get the role injected"),
            std::string::npos)
      << notes;
}

TEST(TrustPolicyTest, WarnsWhenOverTheTrustPolicyQuota) {
  std::string yaml =
      "bindings:\n  - name: many\n    roleArn: arn:aws:iam::111122223333:role/r\n    namespaces: [";
  for (int i = 0; i < 40; ++i) yaml += (i ? ", ns-" : "ns-") + std::to_string(i);
  yaml += "]\n    serviceAccounts: [percona-server-mongodb-operator]\n";
  const auto policies = BuildTrustPolicies(ConfigFrom(yaml), ByArn());
  ASSERT_TRUE(policies.ok());
  EXPECT_NE(Messages(policies->notes, PolicyNote::Level::kWarning)
                .find("over IAM's default quota of 2048"),
            std::string::npos);
  const auto small = BuildTrustPolicies(ConfigFrom(kOneBinding), ByArn());
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(Messages(small->notes, PolicyNote::Level::kWarning), "");
}

// --- S3 policies ---

S3PolicyOptions S3(std::string bucket, std::string prefix = "", std::string kms = "",
                   std::string partition = "") {
  return S3PolicyOptions{std::move(bucket), std::move(prefix), std::move(kms),
                         std::move(partition)};
}

constexpr const char* kKey =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

TEST(S3PolicyTest, PrefixConfinesListingAndObjects) {
  const auto policy = BuildS3Policy(S3("psmdb-backups", "psmdb/prod/"));
  ASSERT_TRUE(policy.ok()) << policy.error();
  const json doc = Doc(policy->document);
  EXPECT_TRUE(testing::PolicyShapeProblems(doc, testing::PolicyKind::kPermission).empty());
  const std::string bucket = "arn:aws:s3:::psmdb-backups";
  using testing::Allows;
  // What PBM does (pbm/storage/s3: ListObjectsV2 with "<prefix>/...", HeadObject/GetObject,
  // PutObject and multipart uploads, CopyObject within the prefix, DeleteObject).
  EXPECT_TRUE(Allows(doc, "s3:ListBucket", bucket, {{"s3:prefix", "psmdb/prod/"}}));
  EXPECT_TRUE(Allows(doc, "s3:ListBucket", bucket, {{"s3:prefix", "psmdb/prod/pbmPitr/rs0/"}}));
  EXPECT_TRUE(Allows(doc, "s3:GetBucketLocation", bucket, {}));
  for (const char* action : {"s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                             "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}) {
    EXPECT_TRUE(Allows(doc, action, bucket + "/psmdb/prod/2025-01-01T00:00:00Z.pbm.json", {}))
        << action;
    EXPECT_FALSE(Allows(doc, action, bucket + "/psmdb/other/x", {})) << action;
    EXPECT_FALSE(Allows(doc, action, bucket + "/psmdb/prod-evil/x", {})) << action;
  }
  // Outside the prefix, other buckets, other actions.
  EXPECT_FALSE(Allows(doc, "s3:ListBucket", bucket, {{"s3:prefix", "psmdb/"}}));
  EXPECT_FALSE(Allows(doc, "s3:ListBucket", bucket, {{"s3:prefix", "psmdb/prod-evil/"}}));
  EXPECT_FALSE(Allows(doc, "s3:ListBucket", bucket, {}));
  EXPECT_FALSE(Allows(doc, "s3:GetObject", "arn:aws:s3:::other-bucket/psmdb/prod/x", {}));
  EXPECT_FALSE(Allows(doc, "s3:DeleteBucket", bucket, {}));
  EXPECT_FALSE(Allows(doc, "s3:PutObjectAcl", bucket + "/psmdb/prod/x", {}));
  EXPECT_FALSE(Allows(doc, "kms:Decrypt", kKey, {}));
}

TEST(S3PolicyTest, WithoutPrefixTheWholeBucket) {
  const auto policy = BuildS3Policy(S3("psmdb-backups"));
  ASSERT_TRUE(policy.ok());
  const json doc = Doc(policy->document);
  EXPECT_TRUE(testing::Allows(doc, "s3:ListBucket", "arn:aws:s3:::psmdb-backups", {}));
  EXPECT_TRUE(testing::Allows(doc, "s3:GetObject", "arn:aws:s3:::psmdb-backups/anything", {}));
  EXPECT_NE(Messages(policy->notes, PolicyNote::Level::kNote)
                .find("every object of bucket psmdb-backups"),
            std::string::npos);
}

TEST(S3PolicyTest, KmsKeyAddsDecryptAndGenerateDataKeyOnThatKeyOnly) {
  const auto policy = BuildS3Policy(S3("psmdb-backups", "pbm", kKey));
  ASSERT_TRUE(policy.ok()) << policy.error();
  const json doc = Doc(policy->document);
  EXPECT_TRUE(testing::Allows(doc, "kms:Decrypt", kKey, {}));
  EXPECT_TRUE(testing::Allows(doc, "kms:GenerateDataKey", kKey, {}));
  EXPECT_FALSE(testing::Allows(doc, "kms:Encrypt", kKey, {}));
  EXPECT_FALSE(
      testing::Allows(doc, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/other", {}));
  EXPECT_NE(Messages(policy->notes, PolicyNote::Level::kNote).find("key policy"),
            std::string::npos);
}

struct PartitionCase {
  std::string name;
  S3PolicyOptions options;
  std::string bucket_arn;  // empty: expect error
  std::string error = "";
};

class S3PartitionTest : public ::testing::TestWithParam<PartitionCase> {};

TEST_P(S3PartitionTest, BucketArnPartition) {
  const auto& c = GetParam();
  const auto policy = BuildS3Policy(c.options);
  if (c.bucket_arn.empty()) {
    ASSERT_FALSE(policy.ok());
    EXPECT_NE(policy.error().find(c.error), std::string::npos) << policy.error();
    return;
  }
  ASSERT_TRUE(policy.ok()) << policy.error();
  EXPECT_EQ(Doc(policy->document)["Statement"][0]["Resource"], c.bucket_arn);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, S3PartitionTest,
    ::testing::Values(
        PartitionCase{"DefaultAws", S3("b-1"), "arn:aws:s3:::b-1"},
        PartitionCase{"Flag", S3("b-1", "", "", "aws-us-gov"), "arn:aws-us-gov:s3:::b-1"},
        PartitionCase{"FromKmsKey", S3("b-1", "", "arn:aws-cn:kms:cn-north-1:111122223333:key/k-1"),
                      "arn:aws-cn:s3:::b-1"},
        PartitionCase{"FlagAgreesWithKey",
                      S3("b-1", "", "arn:aws-cn:kms:cn-north-1:111122223333:key/k-1", "aws-cn"),
                      "arn:aws-cn:s3:::b-1"},
        PartitionCase{"FlagDisagreesWithKey", S3("b-1", "", kKey, "aws-cn"), "", "one partition"},
        PartitionCase{"UnknownPartition", S3("b-1", "", "", "aws-iso"), "",
                      "not one of aws, aws-cn, aws-us-gov"}),
    [](const auto& param_info) { return param_info.param.name; });

struct S3InputCase {
  std::string name;
  S3PolicyOptions options;
  std::string error;         // substring; empty = valid
  std::string objects = "";  // expected object Resource when valid
};

class S3InputTest : public ::testing::TestWithParam<S3InputCase> {};

TEST_P(S3InputTest, ValidatesAndNormalises) {
  const auto& c = GetParam();
  const auto policy = BuildS3Policy(c.options);
  if (c.error.empty()) {
    ASSERT_TRUE(policy.ok()) << policy.error();
    EXPECT_EQ(Doc(policy->document)["Statement"][2]["Resource"], c.objects);
  } else {
    ASSERT_FALSE(policy.ok());
    EXPECT_NE(policy.error().find(c.error), std::string::npos) << policy.error();
    EXPECT_EQ(policy.error().find('\n'), std::string::npos) << "one line";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, S3InputTest,
    ::testing::Values(
        S3InputCase{"Prefix", S3("bkt", "pbm"), "", "arn:aws:s3:::bkt/pbm/*"},
        S3InputCase{"TrailingSlashNormalised", S3("bkt", "a/b//"), "", "arn:aws:s3:::bkt/a/b/*"},
        S3InputCase{"DottedBucket", S3("backups.example.com"), "",
                    "arn:aws:s3:::backups.example.com/*"},
        S3InputCase{"LeadingSlash", S3("bkt", "/pbm"), "must not start with \"/\""},
        S3InputCase{"OnlySlash", S3("bkt", "/"), "must not start with \"/\""},
        S3InputCase{"EmptySegment", S3("bkt", "a//b"), "empty segment"},
        S3InputCase{"DotDot", S3("bkt", "a/../b"), "path.Join"},
        S3InputCase{"Star", S3("bkt", "pbm*"), "wildcards"},
        S3InputCase{"PolicyVariable", S3("bkt", "${aws:username}"), "policy variables"},
        S3InputCase{"NonAscii", S3("bkt", "sauvegardes-\xc3\xa9t\xc3\xa9"), "printable ASCII"},
        S3InputCase{"ControlCharacter", S3("bkt", "a\tb"), "printable ASCII"},
        S3InputCase{"BucketUrl", S3("s3://bkt"), "bucket name only"},
        S3InputCase{"BucketArn", S3("arn:aws:s3:::bkt"), "bucket name only"},
        S3InputCase{"BucketUpperCase", S3("Backups"),
                    "lowercase letters, digits, dots and hyphens"},
        S3InputCase{"BucketUnderscore", S3("my_backups"),
                    "lowercase letters, digits, dots and hyphens"},
        S3InputCase{"BucketTooShort", S3("ab"), "3 to 63"},
        S3InputCase{"BucketTooLong", S3(std::string(64, 'a')), "3 to 63"},
        S3InputCase{"BucketEmpty", S3(""), "3 to 63"},
        S3InputCase{"BucketHyphenEnd", S3("backups-"), "begin and end"},
        S3InputCase{"BucketAdjacentDots", S3("a..b"), "adjacent periods"},
        S3InputCase{"BucketIpAddress", S3("192.168.5.4"), "IP address"},
        S3InputCase{"BucketXn", S3("xn--backups"), "\"xn--\""},
        S3InputCase{"BucketSthree", S3("sthree-backups"), "\"sthree-\""},
        S3InputCase{"BucketAlias", S3("backups-s3alias"), "\"-s3alias\""},
        S3InputCase{"BucketDirectory", S3("backups--x-s3"), "\"--x-s3\""},
        S3InputCase{"KmsAlias", S3("bkt", "", "arn:aws:kms:us-east-1:111122223333:alias/backups"),
                    "describe-key --key-id alias/backups"},
        S3InputCase{"KmsKeyIdOnly", S3("bkt", "", "1234abcd-12ab-34cd-56ef-1234567890ab"),
                    "full ARN"},
        S3InputCase{"KmsWrongService", S3("bkt", "", "arn:aws:s3:us-east-1:111122223333:key/k"),
                    "not a KMS key ARN"},
        S3InputCase{"KmsNoRegion", S3("bkt", "", "arn:aws:kms::111122223333:key/k"),
                    "not a KMS key ARN"},
        S3InputCase{"KmsBadAccount", S3("bkt", "", "arn:aws:kms:us-east-1:1111:key/k"),
                    "not a KMS key ARN"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(S3PolicyTest, FormatIsTwoSpaceIndentedWithFinalNewline) {
  const auto policy = BuildS3Policy(S3("bkt"));
  ASSERT_TRUE(policy.ok());
  const std::string text = FormatPolicyDocument(policy->document);
  EXPECT_EQ(text.rfind("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n", 0), 0u)
      << text;
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace irsa
