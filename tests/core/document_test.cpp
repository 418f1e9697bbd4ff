#include "irsa/document.h"

#include <gtest/gtest.h>

#include "irsa/constants.h"

namespace irsa {
namespace {

using nlohmann::json;

struct ScalarCase {
  const char* yaml;
  json expected;
};

class YamlScalarTest : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(YamlScalarTest, ResolvesWithCoreSchema) {
  auto doc = ParseDocument(std::string("v: ") + GetParam().yaml);
  ASSERT_TRUE(doc.ok()) << doc.error();
  EXPECT_EQ((*doc)["v"], GetParam().expected) << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(Table, YamlScalarTest,
                         ::testing::Values(ScalarCase{"plain", "plain"},
                                           ScalarCase{"\"true\"", "true"},
                                           ScalarCase{"'600'", "600"}, ScalarCase{"true", true},
                                           ScalarCase{"False", false}, ScalarCase{"600", 600},
                                           ScalarCase{"-5", -5}, ScalarCase{"0x1F", 31},
                                           ScalarCase{"0o17", 15}, ScalarCase{"1.5", 1.5},
                                           ScalarCase{"~", nullptr}, ScalarCase{"", nullptr},
                                           ScalarCase{"null", nullptr}, ScalarCase{"yes", "yes"},
                                           ScalarCase{"!!str 42", "42"}, ScalarCase{"300m", "300m"},
                                           ScalarCase{"1e3", 1000.0}, ScalarCase{".inf", ".inf"}));

TEST(DocumentTest, JsonFirstThenYaml) {
  EXPECT_EQ(*ParseDocument(R"({"a": [1, 2]})"), json::parse(R"({"a": [1, 2]})"));
  EXPECT_EQ(*ParseDocument("{a: b}"), json::parse(R"({"a": "b"})"));  // YAML flow mapping
}

TEST(DocumentTest, ClearErrors) {
  EXPECT_EQ(ParseDocument("   \n").error(), "empty document");
  EXPECT_NE(ParseDocument("a: [").error().find("not valid YAML or JSON: line "), std::string::npos);
  EXPECT_FALSE(
      ParseDocument(", values: [a, b]}").ok());  // hung yaml-cpp 0.7 (found by fuzz_label_selector)
  EXPECT_TRUE(ParseDocument("{a: [1]}\n---\n").ok());  // YAML flow after a failed JSON attempt
  EXPECT_NE(ParseDocument(R"({"a": )").error().find("parse error"), std::string::npos);
  EXPECT_EQ(ParseDocument("a: 1\n---\nb: 2\n").error(), "several YAML documents; pass exactly one");
  EXPECT_TRUE(ParseDocument("---\na: 1\n---\n").ok());  // empty documents do not count
  EXPECT_NE(ParseJson("\"\xff\"").error().find("invalid"), std::string::npos);  // bad UTF-8
}

TEST(DocumentTest, JsonErrorsDoNotQuoteTheInput) {
  // Found by the hostile-input suite: nlohmann's "last read: '...'" carried the text around the
  // error (an env value here) into the server's log and its 400 answer.
  for (const std::string& body :
       {std::string(R"({"env": [{"name": "P", "value": "s3cr3t-value)") + "\x01\"}]}",
        std::string(R"({"env": [{"name": "P", "value": "s3cr3t-value"} oops)"),
        std::string(R"({"token": "s3cr3t-value)") + "\xff\"}",
        std::string(R"({"token": s3cr3t-value})")}) {
    const auto parsed = ParseJson(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().find("s3cr3t"), std::string::npos) << parsed.error();
    EXPECT_NE(parsed.error().find("parse error at line 1, column "), std::string::npos)
        << parsed.error();
  }
}

TEST(DocumentTest, AnchorsAliasesAndMergeKeys) {
  auto doc = ParseDocument(R"(
base: &base {a: 1, b: 2}
list: &l [x, y]
copy: *l
merged:
  <<: *base
  b: 3
many:
  <<: [{c: 1}, {c: 2, d: 4}]
quoted: {"<<": {z: 1}}
1: int key
true: bool key
)");
  ASSERT_TRUE(doc.ok()) << doc.error();
  EXPECT_EQ((*doc)["copy"], json::parse(R"(["x", "y"])"));
  EXPECT_EQ((*doc)["merged"], json::parse(R"({"a": 1, "b": 3})"));
  EXPECT_EQ((*doc)["many"], json::parse(R"({"c": 1, "d": 4})"));
  EXPECT_EQ((*doc)["quoted"], json::parse(R"({"<<": {"z": 1}})"));  // a quoted "<<" is a plain key
  EXPECT_EQ((*doc)["1"], "int key");
  EXPECT_EQ((*doc)["true"], "bool key");
  EXPECT_NE(ParseDocument("a: *missing").error().find("unknown alias"), std::string::npos);
  EXPECT_NE(ParseDocument("? [a]\n: b").error().find("mapping keys must be scalars"),
            std::string::npos);
  EXPECT_NE(ParseDocument("a: \xff").error().find("not valid YAML"),
            std::string::npos);  // bad UTF-8
}

// Inputs the fuzzers found; each once hung or crashed a parser.
TEST(DocumentTest, FuzzRegressions) {
  for (const std::string& input :
       {std::string(", values: [a, b]}, {ke\x8e\xc5\xdf\x87, operator: DoesNotExist}]"),
        std::string("#\x01"
                    "7nfig shared by eoldeacn ess t    matchExp-1\n,\0\0\0ings:\n  - name: ps",
                    60)}) {
    (void)ParseDocument(input);  // must return (error or not), quickly
  }
}

TEST(DocumentTest, RefusesHostileNesting) {
  const std::string deep(100000, '[');
  EXPECT_NE(ParseJson(deep).error().find("nests deeper than"), std::string::npos);
  EXPECT_FALSE(ParseDocument(deep).ok());
  std::string ok_depth = std::string(kMaxNestingDepth, '[') + std::string(kMaxNestingDepth, ']');
  EXPECT_TRUE(ParseJson(ok_depth).ok());
  EXPECT_EQ(JsonNestingDepth(R"({"a": "[[[[", "b": [{}]})"),
            3U);  // brackets in strings do not count
  EXPECT_EQ(JsonNestingDepth(R"(["\"[[", [1]])"), 2U);
}

TEST(DocumentTest, RefusesAliasExpansionBombs) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) yaml += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    yaml += "]\n";
  }
  auto doc = ParseDocument(yaml);
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().find("too many values"), std::string::npos) << doc.error();
}

TEST(DocumentTest, YamlRoundTrips) {
  const json value = json::parse(R"({
    "strings": ["true", "600", "", "yes", "a: b", "- x", "multi\nline", "#hash", "~", "null", "1e3", "0o17"],
    "numbers": [0, -1, 1.5, 86400],
    "bools": [true, false], "null": null, "empty": {}, "list": [],
    "nested": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/r", "k": [{"a": 1}]}
  })");
  auto back = ParseDocument(ToYaml(value));
  ASSERT_TRUE(back.ok()) << back.error() << "\n" << ToYaml(value);
  EXPECT_EQ(*back, value) << ToYaml(value);
}

}  // namespace
}  // namespace irsa
