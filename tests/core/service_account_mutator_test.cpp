#include <gtest/gtest.h>

#include "irsa/mutation.h"
#include "test_support.h"

namespace irsa {
namespace {

using testing::Doc;
using testing::MakeConfig;

const char* const kConfig = R"(
bindings:
  - {name: narrow, roleArn: "arn:aws:iam::111122223333:role/narrow", namespaces: [psmdb], serviceAccounts: [op], annotateServiceAccounts: false}
  - {name: op, roleArn: "arn:aws:iam::111122223333:role/op", namespaces: [psmdb], serviceAccounts: [op, default]}
  - {name: any-sa, roleArn: "arn:aws:iam::111122223333:role/any", namespaces: ["*"], serviceAccounts: ["*"]}
  - {name: all-ns, roleArn: "arn:aws:iam::111122223333:role/all", namespaces: ["*"], serviceAccounts: [reporter]}
)";

struct SaCase {
  const char* name;
  const char* ns;
  const char* sa;
  Outcome outcome;
  const char* role;  // expected annotation value after the patch; "" when none
};

class ServiceAccountMutatorTest : public ::testing::TestWithParam<SaCase> {};

TEST_P(ServiceAccountMutatorTest, AnnotatesOnlyExplicitlyNamedServiceAccounts) {
  const Config config = MakeConfig(kConfig);
  const auto sa = Doc(GetParam().sa);
  auto m = MutateServiceAccount(config, sa, GetParam().ns);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->outcome, GetParam().outcome) << m->reason;
  const auto patched = sa.patch(m->patch.operations());
  const auto annotations = patched["metadata"].value("annotations", nlohmann::json::object());
  EXPECT_EQ(annotations.value("eks.amazonaws.com/role-arn", ""), GetParam().role);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ServiceAccountMutatorTest,
    ::testing::Values(
        SaCase{"SkipsBindingWithAnnotateFalse", "psmdb", "{metadata: {name: op}}",
               Outcome::kMutated, "arn:aws:iam::111122223333:role/op"},
        SaCase{"WildcardServiceAccountsNeverAnnotate", "apps", "{metadata: {name: builder}}",
               Outcome::kSkipped, ""},
        SaCase{"WildcardNamespace", "reports", "{metadata: {name: reporter, annotations: {a: b}}}",
               Outcome::kMutated, "arn:aws:iam::111122223333:role/all"},
        SaCase{"OtherNamespace", "staging", "{metadata: {name: op}}", Outcome::kSkipped, ""},
        SaCase{"AlreadyAnnotated", "psmdb",
               "{metadata: {name: default, annotations: {eks.amazonaws.com/role-arn: "
               "'arn:aws:iam::111122223333:role/op'}}}",
               Outcome::kUnchanged, "arn:aws:iam::111122223333:role/op"},
        SaCase{"ConflictKept", "psmdb",
               "{metadata: {name: default, annotations: {eks.amazonaws.com/role-arn: "
               "'arn:aws:iam::111122223333:role/mine'}}}",
               Outcome::kUnchanged, "arn:aws:iam::111122223333:role/mine"},
        SaCase{"NullAnnotationsCreated", "psmdb", "{metadata: {name: op, annotations: null}}",
               Outcome::kMutated, "arn:aws:iam::111122223333:role/op"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(ServiceAccountMutatorTest, ConflictWarnsOnce) {
  const Config config = MakeConfig(kConfig);
  auto m =
      MutateServiceAccount(config,
                           Doc("{metadata: {name: op, annotations: {eks.amazonaws.com/role-arn: "
                               "'arn:aws:iam::111122223333:role/mine'}}}"),
                           "psmdb");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->warnings.size(), 1U);
  EXPECT_NE(m->warnings[0].find("keeps its annotation"), std::string::npos);
  EXPECT_TRUE(m->patch.empty());
}

TEST(ServiceAccountMutatorTest, MalformedIsAnError) {
  const Config config = MakeConfig(kConfig);
  EXPECT_FALSE(
      MutateServiceAccount(config, Doc("{metadata: {name: op, annotations: [x]}}"), "psmdb").ok());
  EXPECT_FALSE(MutateServiceAccount(
                   config,
                   Doc("{metadata: {name: op, annotations: {eks.amazonaws.com/role-arn: 5}}}"),
                   "psmdb")
                   .ok());
  EXPECT_FALSE(MutateServiceAccount(config, Doc("{kind: ServiceAccount}"), "psmdb").ok());
}

}  // namespace
}  // namespace irsa
