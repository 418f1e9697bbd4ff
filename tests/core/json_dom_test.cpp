// The DOM readers' key matching (src/core/json_dom.h, internal): SameKey answers what
// string_view's == answers, for every length up to past the word-sized paths and a difference
// in every position; Members and FindMember resolve duplicates as nlohmann::json does.
#include "json_dom.h"

#include <gtest/gtest.h>

#include <string>

namespace irsa::internal {
namespace {

TEST(JsonDomTest, SameKeyIsEqualityForEveryLengthAndEveryDifferingByte) {
  for (std::size_t n = 0; n <= 24; ++n) {
    std::string key;
    for (std::size_t i = 0; i < n; ++i) key.push_back(static_cast<char>('a' + i % 26));
    const std::string same = key;  // another buffer: compared by content, not by address
    EXPECT_TRUE(SameKey(same, key)) << n;
    for (std::size_t at = 0; at < n; ++at) {
      std::string other = key;
      other[at] = static_cast<char>(other[at] ^ 0x20);
      EXPECT_FALSE(SameKey(other, key)) << n << " differing at " << at;
    }
    EXPECT_FALSE(SameKey(key + "x", key)) << n;
    if (n > 0) {
      EXPECT_FALSE(SameKey(std::string_view(key).substr(1), key)) << n;
    }
  }
}

TEST(JsonDomTest, MembersAndFindMemberTakeTheLastNonNullMember) {
  JsonDom dom;
  auto root = dom.Parse(R"({"name":"a","volumeMounts":1,"name":"b","env":null,"envFrom":2})");
  ASSERT_TRUE(root.ok()) << root.error();
  simdjson::dom::object object;
  ASSERT_EQ(root->get_object().get(object), simdjson::SUCCESS);
  const Members members(object, {"name", "env", "volumeMounts", "missing"});
  simdjson::dom::element value;
  ASSERT_TRUE(members.Find(0, value));
  EXPECT_EQ(value.get_string().value_unsafe(), "b");
  EXPECT_FALSE(members.Find(1, value));  // null is absent
  ASSERT_TRUE(members.Find(2, value));
  EXPECT_EQ(value.get_int64().value_unsafe(), 1);
  EXPECT_FALSE(members.Find(3, value));
  ASSERT_TRUE(FindMember(object, "envFrom", value));
  EXPECT_FALSE(FindMember(object, "envFro", value));
}

}  // namespace
}  // namespace irsa::internal
