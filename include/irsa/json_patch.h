// JSON Patch (RFC 6902) built from what changed: `add` operations only.
//
// Owns: JSON Pointer escaping (RFC 6901: "~" -> "~0", "/" -> "~1"), the patch, and writing JSON
// text directly (the admission hot path builds the patch as text: no intermediate JSON values).
// Never: replaces or removes, and never re-serializes a whole existing array: callers append
// with "/-" or create a missing field, so fields this code does not know survive untouched.
// Thread-safety: a JsonPatch is a value; not shared.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace irsa {

// Escapes one reference token: EscapeJsonPointerToken("eks.amazonaws.com/role-arn") ==
// "eks.amazonaws.com~1role-arn".
std::string EscapeJsonPointerToken(std::string_view token);

// Appends `s` as a JSON string literal (quotes, escapes for '"', '\\' and control characters).
// `s` must be valid UTF-8 (it comes from parsed JSON or a validated config).
void AppendJsonString(std::string& out, std::string_view s);
// The same without the quotes: the inside of a JSON string literal.
void AppendJsonStringBody(std::string& out, std::string_view s);

// A JSON Pointer under construction: JsonPointer().Child("spec").Child("containers").Index(0).
class JsonPointer {
 public:
  JsonPointer() = default;
  JsonPointer Child(std::string_view token) const;
  JsonPointer Index(std::size_t index) const;
  JsonPointer End() const { return Child("-"); }  // "append to this array"
  const std::string& str() const { return path_; }
  // Whether str() goes into a JSON string as it is (no '"', '\\' or control character in it).
  bool json_plain() const { return json_plain_; }

 private:
  JsonPointer(std::string path, bool json_plain)
      : path_(std::move(path)), json_plain_(json_plain) {}
  std::string path_;
  bool json_plain_ = true;
};

class JsonPatch {
 public:
  // Adds `value` at `path`.
  void Add(const JsonPointer& path, const nlohmann::json& value);
  // Adds a value given as JSON text (built with AppendJsonString and friends).
  void AddSerialized(const JsonPointer& path, std::string_view value_json);
  // The same at `path` followed by the reference tokens `tail` (escaped as Child escapes them):
  // AddSerialized(base, {"env", "-"}, v) is AddSerialized(base.Child("env").End(), v) without
  // building the pointer.
  void AddSerialized(const JsonPointer& path, std::initializer_list<std::string_view> tail,
                     std::string_view value_json);
  // One operation per value, in order, all at `path` + `tail` (appends: {"env", "-"}); the path
  // is escaped once.
  void AddEachSerialized(const JsonPointer& path, std::initializer_list<std::string_view> tail,
                         std::span<const std::string_view> values_json);
  // Sizes the buffer for `bytes` of operations (the admission path knows roughly how many).
  void Reserve(std::size_t bytes);
  // Moves every operation of `other` to the end of this patch.
  void Append(JsonPatch&& other);

  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  std::string Serialize() const;      // the JSON array, compact
  std::string_view text() const;      // the same without a copy; valid until the next change
  nlohmann::json operations() const;  // the same, parsed (CLI output, tests)

 private:
  std::string text_;  // the JSON array of the operations; empty while there are none
  std::size_t count_ = 0;
};

}  // namespace irsa
