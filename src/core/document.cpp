#include "irsa/document.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "irsa/constants.h"

namespace irsa {
namespace {

using nlohmann::json;

// Upper bound on values produced from one YAML document: aliases can expand exponentially
// ("billion laughs"), and a budget turns that into an error instead of an out-of-memory kill.
constexpr std::size_t kMaxYamlValues = 1'000'000;

std::string CleanJsonError(const std::string& what) {
  // "[json.exception.parse_error.101] parse error at line 1..." -> "parse error at line 1..."
  const auto close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

bool IsYamlNull(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> YamlBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool AllOf(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (pred(static_cast<unsigned char>(c)) == 0) return false;
  }
  return true;
}

int IsOctalDigit(int c) { return (c >= '0' && c <= '7') ? 1 : 0; }

// YAML 1.2 core schema integers: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+.
std::optional<json> YamlInteger(const std::string& s) {
  std::string_view digits = s;
  int base = 10;
  bool negative = false;
  if (digits.size() > 2 && digits[0] == '0' && digits[1] == 'o' && AllOf(digits.substr(2), IsOctalDigit)) {
    base = 8;
    digits.remove_prefix(2);
  } else if (digits.size() > 2 && digits[0] == '0' && digits[1] == 'x' &&
             AllOf(digits.substr(2), isxdigit)) {
    base = 16;
    digits.remove_prefix(2);
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (!AllOf(digits, isdigit)) return std::nullopt;
  }
  errno = 0;
  const std::string text(digits);
  const unsigned long long magnitude = std::strtoull(text.c_str(), nullptr, base);
  if (errno == ERANGE) return std::nullopt;  // too large for an integer: keep the text
  if (negative) {
    if (magnitude > static_cast<unsigned long long>(INT64_MAX) + 1ULL) return std::nullopt;
    return json(static_cast<std::int64_t>(0 - magnitude));
  }
  if (magnitude > static_cast<unsigned long long>(INT64_MAX)) return json(magnitude);
  return json(static_cast<std::int64_t>(magnitude));
}

// YAML 1.2 core schema floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus
// .inf/.nan spellings (which JSON cannot hold, so they stay strings).
std::optional<json> YamlFloat(const std::string& s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t int_digits = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++int_digits;
  std::size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i])) != 0) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const double value = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(value)) return std::nullopt;
  return json(value);
}

// Typed value of a plain (unquoted, untagged) YAML scalar.
json ResolvePlainScalar(const std::string& s) {
  if (IsYamlNull(s)) return nullptr;
  if (auto b = YamlBool(s)) return *b;
  if (auto i = YamlInteger(s)) return *i;
  if (auto f = YamlFloat(s)) return *f;
  return s;
}

class YamlToJson {
 public:
  Result<json> Convert(const YAML::Node& node, std::size_t depth) {
    if (++values_ > kMaxYamlValues) {
      return Status::Error("document expands to too many values (YAML aliases?)");
    }
    if (depth > kMaxNestingDepth) {
      return Status::Error("document nests deeper than " + std::to_string(kMaxNestingDepth) +
                           " levels");
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        json out = json::array();
        for (const auto& item : node) {
          auto value = Convert(item, depth + 1);
          if (!value.ok()) return value;
          out.push_back(std::move(value).value());
        }
        return out;
      }
      case YAML::NodeType::Map: {
        json out = json::object();
        for (const auto& entry : node) {
          if (!entry.first.IsScalar()) {
            return Status::Error("line " + std::to_string(entry.first.Mark().line + 1) +
                                 ": mapping keys must be scalars");
          }
          auto value = Convert(entry.second, depth + 1);
          if (!value.ok()) return value;
          out[entry.first.Scalar()] = std::move(value).value();
        }
        return out;
      }
    }
    return json(nullptr);
  }

 private:
  static Result<json> Scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return json(text);  // quoted or !!str
    if (tag == "?" || tag.empty()) return ResolvePlainScalar(text);
    if (tag == "tag:yaml.org,2002:null") return json(nullptr);
    if (tag == "tag:yaml.org,2002:bool") {
      if (auto b = YamlBool(text)) return json(*b);
    } else if (tag == "tag:yaml.org,2002:int") {
      if (auto i = YamlInteger(text)) return *i;
    } else if (tag == "tag:yaml.org,2002:float") {
      if (auto i = YamlInteger(text)) return json(i->get<double>());
      if (auto f = YamlFloat(text)) return *f;
    } else {
      return json(text);  // unknown local tags: keep the text, as Kubernetes tools do
    }
    return Status::Error("line " + std::to_string(node.Mark().line + 1) + ": \"" + text +
                         "\" does not match its tag " + tag);
  }

  std::size_t values_ = 0;
};

// Would a plain YAML scalar with this text read back as something other than this string?
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  const json resolved = ResolvePlainScalar(s);
  if (!resolved.is_string()) return true;
  // .inf/.nan spellings and YAML 1.1 booleans that other tools (kubectl's go-yaml) read as bools.
  static const char* const kAmbiguous[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                           "on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf",
                                           ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN", "="};
  for (const char* word : kAmbiguous) {
    if (s == word) return true;
  }
  return false;
}

void EmitYaml(YAML::Emitter& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        if (NeedsQuotes(key)) out << YAML::DoubleQuoted;
        out << key << YAML::Value;
        EmitYaml(out, item);
      }
      out << YAML::EndMap;
      return;
    case json::value_t::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : value) EmitYaml(out, item);
      out << YAML::EndSeq;
      return;
    case json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case json::value_t::null:
      out << YAML::Null;
      return;
    case json::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    default:  // numbers: JSON's own spelling round-trips through the core schema
      out << value.dump();
      return;
  }
}

}  // namespace

std::size_t JsonNestingDepth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;  // skip the escaped character
      }
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<json> ParseJson(std::string_view text) {
  if (JsonNestingDepth(text) > kMaxNestingDepth) {
    return Status::Error("JSON nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return Status::Error(CleanJsonError(e.what()));
  }
}

Result<json> ParseDocument(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Status::Error("empty document");
  Status json_error = Status::Ok();
  if (text[first] == '{' || text[first] == '[') {
    auto parsed = ParseJson(text);
    if (parsed.ok()) return parsed;
    json_error = parsed.status();
  }
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    const YAML::Node* found = nullptr;
    for (const auto& doc : documents) {
      if (doc.IsNull() || !doc.IsDefined()) continue;
      if (found != nullptr) return Status::Error("several YAML documents; pass exactly one");
      found = &doc;
    }
    if (found == nullptr) return Status::Error("empty document");
    return YamlToJson().Convert(*found, 0);
  } catch (const YAML::Exception& e) {
    if (!json_error.ok()) return json_error;  // it looked like JSON: the JSON error is clearer
    return Status::Error("not valid YAML or JSON: line " + std::to_string(e.mark.line + 1) + ": " +
                         e.msg);
  }
}

Result<std::string> ReadFileText(const std::string& path) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    if (std::cin.bad()) return Status::Error("stdin: read error");
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::Error(path + ": read error");
  return text;
}

Result<json> LoadDocumentFile(const std::string& path) {
  auto text = ReadFileText(path);
  if (!text.ok()) return text.status();
  auto doc = ParseDocument(*text);
  if (!doc.ok()) return Status::Error((path == "-" ? std::string("stdin") : path) + ": " + doc.error());
  return doc;
}

std::string ToYaml(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  EmitYaml(out, value);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  return text;
}

}  // namespace irsa
