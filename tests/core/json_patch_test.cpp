#include "irsa/json_patch.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

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

TEST(JsonPatchTest, TailTokensWriteTheSamePathAsChild) {
  const JsonPointer base = JsonPointer().Child("spec").Child("containers").Index(2);
  JsonPatch built;
  built.AddSerialized(base.Child("env").End(), "1");
  built.AddSerialized(base.Child("a/b~c\"\n"), "2");
  built.AddSerialized(base, "3");
  JsonPatch tail;
  tail.AddSerialized(base, {"env", "-"}, "1");
  tail.AddSerialized(base, {"a/b~c\"\n"}, "2");
  tail.AddSerialized(base, {}, "3");
  EXPECT_EQ(tail.Serialize(), built.Serialize());
  EXPECT_EQ(tail.operations()[1]["path"], "/spec/containers/2/a~1b~0c\"\n");
}

TEST(JsonPatchTest, APointerWithCharactersJsonEscapesIsEscapedInTheOperation) {
  EXPECT_TRUE(JsonPointer().Child("spec").Child("containers").Index(0).json_plain());
  EXPECT_TRUE(JsonPointer().Child("a/b~c").json_plain());  // "~1" and "~0" need no JSON escape
  const JsonPointer quoted = JsonPointer().Child("a\"b\\c\x01").Index(1);
  EXPECT_FALSE(quoted.json_plain());
  EXPECT_FALSE(quoted.Child("env").json_plain());  // once escaped, every child is
  JsonPatch patch;
  patch.AddSerialized(quoted, {"env", "-"}, "1");
  patch.AddSerialized(quoted.Child("x"), "2");
  const nlohmann::json operations = patch.operations();  // parses: the text is valid JSON
  EXPECT_EQ(operations[0]["path"], "/a\"b\\c\x01/1/env/-");
  EXPECT_EQ(operations[1]["path"], "/a\"b\\c\x01/1/x");
}

TEST(JsonPatchTest, AddEachWritesOneOperationPerValueInOrder) {
  const JsonPointer base = JsonPointer().Child("spec").Child("a~b");
  JsonPatch one_by_one;
  JsonPatch each;
  one_by_one.AddSerialized(JsonPointer().Child("x"), "0");
  each.AddSerialized(JsonPointer().Child("x"), "0");
  // Enough values that the buffer grows while the head of the first is copied.
  std::vector<std::string> values;
  for (int i = 0; i < 40; ++i) values.push_back(R"({"name":"v)" + std::to_string(i) + R"("})");
  std::vector<std::string_view> views(values.begin(), values.end());
  for (const auto& v : views) one_by_one.AddSerialized(base.Child("env/x").End(), v);
  each.AddEachSerialized(base, {"env/x", "-"}, views);
  each.AddEachSerialized(base, {"none"}, {});
  EXPECT_EQ(each.Serialize(), one_by_one.Serialize());
  EXPECT_EQ(each.size(), 41U);
  EXPECT_EQ(each.operations()[40]["path"], "/spec/a~0b/env~1x/-");
}

TEST(JsonPatchTest, TextIsTheSerializedArray) {
  JsonPatch patch;
  EXPECT_EQ(patch.text(), "[]");
  EXPECT_EQ(patch.Serialize(), "[]");
  patch.AddSerialized(JsonPointer().Child("x"), "1");
  EXPECT_EQ(patch.text(), R"([{"op":"add","path":"/x","value":1}])");
  JsonPatch other;
  other.AddSerialized(JsonPointer().Child("y"), "2");
  other.AddSerialized(JsonPointer().Child("z"), "3");
  patch.Append(std::move(other));
  EXPECT_EQ(
      patch.text(),
      R"([{"op":"add","path":"/x","value":1},{"op":"add","path":"/y","value":2},{"op":"add","path":"/z","value":3}])");
  EXPECT_EQ(patch.size(), 3U);
  EXPECT_TRUE(other.empty());
  EXPECT_EQ(other.text(), "[]");
  JsonPatch empty;
  empty.Append(std::move(patch));
  EXPECT_EQ(empty.size(), 3U);
  EXPECT_EQ(empty.operations().size(), 3U);
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

TEST(JsonStringTest, SameTextAsNlohmannAtEveryLengthAndPosition) {
  // Escapes before, inside and after each 8-byte block the writer skips at once, next to
  // multi-byte UTF-8 and the bytes just around the escaped ranges (0x1f/0x20, '!'/'#', '['/']').
  const std::vector<std::string> pieces = {"a", "\"", "\\", "\n",       "\x01", "\x1f", " ", "!",
                                           "#", "[",  "]",  "\xc3\xa9", "\x7f", "\t",   "/"};
  std::uint32_t state = 12345;
  for (int round = 0; round < 4000; ++round) {
    state = state * 1103515245U + 12345U;
    const std::size_t length = (state >> 8U) % 40U;
    std::string s;
    for (std::size_t i = 0; i < length; ++i) {
      state = state * 1103515245U + 12345U;
      // Mostly plain letters, so long unescaped runs occur.
      const std::size_t pick = (state >> 8U) % 64U;
      s += pick < pieces.size() ? pieces[pick] : std::string(1, static_cast<char>('a' + pick % 26));
    }
    std::string out;
    AppendJsonString(out, s);
    ASSERT_EQ(out, nlohmann::json(s).dump()) << s;
  }
}

}  // namespace
}  // namespace irsa
