// JSON Patch (RFC 6902) built from what changed: `add` operations only.
//
// Owns: JSON Pointer escaping (RFC 6901: "~" -> "~0", "/" -> "~1") and the patch array.
// Never: replaces or removes, and never re-serializes a whole existing array: callers append
// with "/-" or create a missing field, so fields this code does not know survive untouched.
// Thread-safety: a JsonPatch is a value; not shared.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace irsa {

// Escapes one reference token: EscapeJsonPointerToken("eks.amazonaws.com/role-arn") ==
// "eks.amazonaws.com~1role-arn".
std::string EscapeJsonPointerToken(std::string_view token);

// A JSON Pointer under construction: JsonPointer("/spec").Child("containers").Index(0).
class JsonPointer {
 public:
  JsonPointer() = default;
  JsonPointer Child(std::string_view token) const;
  JsonPointer Index(std::size_t index) const;
  JsonPointer End() const { return Child("-"); }  // "append to this array"
  const std::string& str() const { return path_; }

 private:
  explicit JsonPointer(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

class JsonPatch {
 public:
  void Add(const JsonPointer& path, nlohmann::json value);
  // Moves every operation of `other` to the end of this patch.
  void Append(JsonPatch&& other);
  bool empty() const { return operations_.empty(); }
  std::size_t size() const { return operations_.size(); }
  const nlohmann::json& operations() const { return operations_; }  // a JSON array
  std::string Serialize() const;

 private:
  nlohmann::json operations_ = nlohmann::json::array();
};

}  // namespace irsa
