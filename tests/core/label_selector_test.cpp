#include "irsa/label_selector.h"

#include <gtest/gtest.h>

#include "irsa/kube_names.h"
#include "test_support.h"

namespace irsa {
namespace {

struct SelectorCase {
  const char* name;
  const char* selector;
  Labels labels;
  bool matches;
};

class LabelSelectorMatchTest : public ::testing::TestWithParam<SelectorCase> {};

TEST_P(LabelSelectorMatchTest, MatchesLikeKubernetes) {
  auto selector = LabelSelector::Parse(testing::Doc(GetParam().selector), "podSelector");
  ASSERT_TRUE(selector.ok()) << selector.error();
  EXPECT_EQ(selector->Matches(GetParam().labels), GetParam().matches);
  // The same labels as pairs read from a document (the pod reader's form).
  const LabelPairs pairs(GetParam().labels.begin(), GetParam().labels.end());
  EXPECT_EQ(selector->Matches(pairs), GetParam().matches);
}

const Labels kDb = {{"app", "db"}, {"tier", "backend"}};

INSTANTIATE_TEST_SUITE_P(
    Table, LabelSelectorMatchTest,
    ::testing::Values(
        SelectorCase{"EmptyMatchesEverything", "{}", {}, true},
        SelectorCase{"MatchLabelsAll", "matchLabels: {app: db, tier: backend}", kDb, true},
        SelectorCase{"MatchLabelsValueDiffers", "matchLabels: {app: web}", kDb, false},
        SelectorCase{"MatchLabelsKeyMissing", "matchLabels: {zone: a}", kDb, false},
        SelectorCase{"InMatches", "matchExpressions: [{key: app, operator: In, values: [web, db]}]",
                     kDb, true},
        SelectorCase{"InNoValue", "matchExpressions: [{key: app, operator: In, values: [web]}]",
                     kDb, false},
        SelectorCase{"InKeyAbsent", "matchExpressions: [{key: zone, operator: In, values: [a]}]",
                     kDb, false},
        SelectorCase{"NotInExcludes",
                     "matchExpressions: [{key: app, operator: NotIn, values: [db]}]", kDb, false},
        SelectorCase{"NotInOther", "matchExpressions: [{key: app, operator: NotIn, values: [web]}]",
                     kDb, true},
        SelectorCase{"NotInKeyAbsentMatches",
                     "matchExpressions: [{key: zone, operator: NotIn, values: [a]}]", kDb, true},
        SelectorCase{"Exists", "matchExpressions: [{key: tier, operator: Exists}]", kDb, true},
        SelectorCase{"ExistsAbsent", "matchExpressions: [{key: zone, operator: Exists}]", kDb,
                     false},
        SelectorCase{"DoesNotExist", "matchExpressions: [{key: zone, operator: DoesNotExist}]", kDb,
                     true},
        SelectorCase{"DoesNotExistPresent",
                     "matchExpressions: [{key: app, operator: DoesNotExist}]", kDb, false},
        SelectorCase{"AllRequirementsAnded",
                     "{matchLabels: {app: db}, matchExpressions: [{key: tier, operator: In, "
                     "values: [backend]}, "
                     "{key: zone, operator: Exists}]}",
                     kDb, false},
        SelectorCase{"EmptyValueLabel", "matchLabels: {app: ''}", {{"app", ""}}, true}),
    [](const auto& p) { return std::string(p.param.name); });

struct BadSelectorCase {
  const char* name;
  const char* selector;
  const char* message;
};

class LabelSelectorParseErrorTest : public ::testing::TestWithParam<BadSelectorCase> {};

TEST_P(LabelSelectorParseErrorTest, RejectedWithFieldPath) {
  auto selector =
      LabelSelector::Parse(testing::Doc(GetParam().selector), "binding \"x\": podSelector");
  ASSERT_FALSE(selector.ok());
  EXPECT_NE(selector.error().find(GetParam().message), std::string::npos) << selector.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, LabelSelectorParseErrorTest,
    ::testing::Values(
        BadSelectorCase{"NotMapping", "[a]", "podSelector: must be a mapping"},
        BadSelectorCase{"UnknownField", "matchLabel: {a: b}", "unknown field \"matchLabel\""},
        BadSelectorCase{"LabelValueNotString", "matchLabels: {a: 1}",
                        "matchLabels[\"a\"]: value must be a string"},
        BadSelectorCase{"BadKey", "matchLabels: {'-a': b}", "not a valid label key"},
        BadSelectorCase{"BadValue", "matchLabels: {a: 'b c'}", "is not a valid label value"},
        BadSelectorCase{"InWithoutValues", "matchExpressions: [{key: a, operator: In}]",
                        "matchExpressions[0].values: must be non-empty for In and NotIn"},
        BadSelectorCase{"ExistsWithValues",
                        "matchExpressions: [{key: a, operator: Exists, values: [b]}]",
                        "must be empty for Exists and DoesNotExist"},
        BadSelectorCase{"MissingKey", "matchExpressions: [{operator: Exists}]",
                        "matchExpressions[0].key: required"},
        BadSelectorCase{"MissingOperator", "matchExpressions: [{key: a}]",
                        "matchExpressions[0].operator: required"},
        BadSelectorCase{"ExpressionsNotList", "matchExpressions: {key: a}",
                        "matchExpressions: must be a list"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(LabelSelectorTest, NullSelectorMatchesEverything) {
  auto selector = LabelSelector::Parse(nlohmann::json(), "podSelector");
  ASSERT_TRUE(selector.ok());
  EXPECT_TRUE(selector->empty());
  EXPECT_TRUE(selector->Matches(kDb));
}

TEST(LabelSelectorTest, LabelPairsLastDuplicateCounts) {
  auto selector = LabelSelector::Parse(testing::Doc("matchLabels: {app: db}"), "podSelector");
  ASSERT_TRUE(selector.ok()) << selector.error();
  EXPECT_TRUE(selector->Matches(LabelPairs{{"app", "web"}, {"tier", "x"}, {"app", "db"}}));
  EXPECT_FALSE(selector->Matches(LabelPairs{{"app", "db"}, {"app", "web"}}));
  EXPECT_EQ(LabelsView(LabelPairs{{"a", "1"}, {"a", "2"}}).Find("a"), "2");
  EXPECT_FALSE(LabelsView(LabelPairs{{"a", "1"}}).Find("b").has_value());
}

TEST(KubeNamesTest, LabelKeysAndValues) {
  EXPECT_TRUE(IsValidLabelKey("app.kubernetes.io/name"));
  EXPECT_TRUE(IsValidLabelKey("eks.amazonaws.com/skip-pod-identity-webhook"));
  EXPECT_TRUE(IsValidLabelKey("A_b.c"));
  EXPECT_FALSE(IsValidLabelKey("Bad.Prefix/name"));
  EXPECT_FALSE(IsValidLabelKey("a/b/c"));
  EXPECT_FALSE(IsValidLabelKey(std::string(64, 'a')));
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_FALSE(IsValidLabelValue("-a"));
  EXPECT_TRUE(IsDnsSubdomain("percona-server-mongodb-operator"));
  EXPECT_FALSE(IsDnsSubdomain("a..b"));
  EXPECT_TRUE(IsValidRegion("us-gov-west-1"));
  EXPECT_TRUE(IsValidRegion("eu-isoe-west-1"));
  EXPECT_FALSE(IsValidRegion("us-east"));
  EXPECT_FALSE(IsValidRegion("us-east-1a"));
}

}  // namespace
}  // namespace irsa
