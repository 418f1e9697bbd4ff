#include "irsa/json_patch.h"

namespace irsa {

std::string EscapeJsonPointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size() + 2);
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

JsonPointer JsonPointer::Child(std::string_view token) const {
  std::string path;
  path.reserve(path_.size() + 1 + token.size());
  path.append(path_).push_back('/');
  path.append(EscapeJsonPointerToken(token));
  return JsonPointer(std::move(path));
}

JsonPointer JsonPointer::Index(std::size_t index) const {
  return JsonPointer(path_ + "/" + std::to_string(index));
}

void JsonPatch::Add(const JsonPointer& path, nlohmann::json value) {
  operations_.push_back({{"op", "add"}, {"path", path.str()}, {"value", std::move(value)}});
}

void JsonPatch::Append(JsonPatch&& other) {
  for (auto& op : other.operations_) operations_.push_back(std::move(op));
  other.operations_ = nlohmann::json::array();
}

std::string JsonPatch::Serialize() const { return operations_.dump(); }

}  // namespace irsa
