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

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  AppendJsonStringBody(out, s);
  out.push_back('"');
}

void AppendJsonStringBody(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of the current run of characters that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4U]);
        out.push_back(kHex[c & 0xFU]);
    }
  }
  out.append(s.data() + run, s.size() - run);
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

void JsonPatch::Add(const JsonPointer& path, const nlohmann::json& value) {
  AddSerialized(path, value.dump());
}

void JsonPatch::AddSerialized(const JsonPointer& path, std::string_view value_json) {
  if (count_++ > 0) operations_text_.push_back(',');
  operations_text_ += R"({"op":"add","path":)";
  AppendJsonString(operations_text_, path.str());
  operations_text_ += R"(,"value":)";
  operations_text_ += value_json;
  operations_text_.push_back('}');
}

void JsonPatch::Append(JsonPatch&& other) {
  if (other.count_ == 0) return;
  if (count_ > 0) operations_text_.push_back(',');
  operations_text_ += other.operations_text_;
  count_ += other.count_;
  other.operations_text_.clear();
  other.count_ = 0;
}

std::string JsonPatch::Serialize() const {
  std::string out;
  out.reserve(operations_text_.size() + 2);
  out.push_back('[');
  out += operations_text_;
  out.push_back(']');
  return out;
}

nlohmann::json JsonPatch::operations() const { return nlohmann::json::parse(Serialize()); }

}  // namespace irsa
