#include "irsa/json_patch.h"

#include <gtest/gtest.h>

namespace irsa {
namespace {

struct EscapeCase {
  const char* token;
  const char* escaped;
};

class JsonPointerEscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(JsonPointerEscapeTest, EscapesPerRfc6901) {
  EXPECT_EQ(EscapeJsonPointerToken(GetParam().token), GetParam().escaped);
}

INSTANTIATE_TEST_SUITE_P(Table, JsonPointerEscapeTest,
                         ::testing::Values(EscapeCase{"plain", "plain"},
                                           EscapeCase{"eks.amazonaws.com/role-arn",
                                                      "eks.amazonaws.com~1role-arn"},
                                           EscapeCase{"a~b", "a~0b"}, EscapeCase{"~/", "~0~1"},
                                           EscapeCase{"~1", "~01"}, EscapeCase{"", ""}));

TEST(JsonPointerTest, BuildsPaths) {
  const JsonPointer p =
      JsonPointer().Child("metadata").Child("annotations").Child("eks.amazonaws.com/role-arn");
  EXPECT_EQ(p.str(), "/metadata/annotations/eks.amazonaws.com~1role-arn");
  EXPECT_EQ(JsonPointer().Child("spec").Child("containers").Index(3).Child("env").End().str(),
            "/spec/containers/3/env/-");
}

TEST(JsonPatchTest, OnlyAddOperationsAndTheyApply) {
  JsonPatch patch;
  patch.Add(JsonPointer().Child("metadata").Child("annotations").Child("a/b~c"), "v");
  patch.Add(JsonPointer().Child("list").End(), 2);
  const auto doc = nlohmann::json::parse(R"({"metadata": {"annotations": {}}, "list": [1]})");
  const auto patched = doc.patch(patch.operations());
  EXPECT_EQ(patched["metadata"]["annotations"]["a/b~c"], "v");
  EXPECT_EQ(patched["list"], nlohmann::json::array({1, 2}));
  for (const auto& op : patch.operations()) EXPECT_EQ(op["op"], "add");
  EXPECT_EQ(
      patch.Serialize(),
      R"([{"op":"add","path":"/metadata/annotations/a~1b~0c","value":"v"},{"op":"add","path":"/list/-","value":2}])");
}

TEST(JsonPatchTest, AppendMovesOperations) {
  JsonPatch a;
  JsonPatch b;
  a.Add(JsonPointer().Child("x"), 1);
  b.Add(JsonPointer().Child("y"), 2);
  a.Append(std::move(b));
  EXPECT_EQ(a.size(), 2U);
  EXPECT_EQ(a.operations()[1]["path"], "/y");
}

}  // namespace
}  // namespace irsa
