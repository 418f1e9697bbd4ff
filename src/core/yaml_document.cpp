#include "yaml_document.h"

#include <yaml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

#include "irsa/constants.h"
#include "irsa/json_patch.h"
#include "irsa/text.h"

namespace irsa::internal {
namespace {

using nlohmann::json;

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
  if (digits.size() > 2 && digits[0] == '0' && digits[1] == 'o' &&
      AllOf(digits.substr(2), IsOctalDigit)) {
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

constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagNull = "tag:yaml.org,2002:null";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";

std::string AsString(const yaml_char_t* text, std::size_t length) {
  return std::string(reinterpret_cast<const char*>(text), length);
}

std::string AsString(const yaml_char_t* text) {
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

std::string At(const yaml_mark_t& mark) {
  return "line " + std::to_string(mark.line + 1) + " column " + std::to_string(mark.column + 1);
}

// Typed value of a scalar event, by tag and style.
Result<json> ScalarValue(const yaml_event_t& event) {
  const auto& scalar = event.data.scalar;
  const std::string text = AsString(scalar.value, scalar.length);
  const std::string tag = AsString(scalar.tag);
  if (tag.empty()) {
    if (scalar.style != YAML_PLAIN_SCALAR_STYLE) return json(text);  // quoted, literal, folded
    return ResolvePlainScalar(text);
  }
  if (tag == "!" || tag == kTagStr) return json(text);
  if (tag == kTagNull) return json(nullptr);
  if (tag == kTagBool) {
    if (auto b = YamlBool(text)) return json(*b);
  } else if (tag == kTagInt) {
    if (auto i = YamlInteger(text)) return *i;
  } else if (tag == kTagFloat) {
    if (auto i = YamlInteger(text)) return json(i->get<double>());
    if (auto f = YamlFloat(text)) return *f;
  } else {
    return json(text);  // local tags (!foo): keep the text, as Kubernetes tools do
  }
  return Status::Error(At(event.start_mark) + ": " + Quote(text) + " does not match its tag " +
                       tag);
}

struct Anchored {
  json value;
  std::size_t values = 0;  // how many values it expands to
};

// Builds JSON from parser events with an explicit stack.
class Builder {
 public:
  explicit Builder(bool several) : several_(several) {}

  Status OnEvent(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_SCALAR_EVENT: {
        auto value = ScalarValue(event);
        if (!value.ok()) return value.status();
        const auto& s = event.data.scalar;
        const bool merge_key = s.style == YAML_PLAIN_SCALAR_STYLE && s.length == 2 &&
                               s.value[0] == '<' && s.value[1] == '<';
        return Complete(std::move(value).value(), 1, AsString(s.anchor),
                        AsString(s.value, s.length), merge_key, event.start_mark);
      }
      case YAML_ALIAS_EVENT: {
        const auto it = anchors_.find(AsString(event.data.alias.anchor));
        if (it == anchors_.end()) {
          return Status::Error(At(event.start_mark) + ": unknown alias *" +
                               AsString(event.data.alias.anchor));
        }
        const std::string key_text =
            it->second.value.is_string() ? it->second.value.get<std::string>() : "";
        return Complete(it->second.value, it->second.values, "", key_text, false, event.start_mark);
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (stack_.size() >= kMaxNestingDepth) {
          return Status::Error("document nests deeper than " + std::to_string(kMaxNestingDepth) +
                               " levels");
        }
        const bool map = event.type == YAML_MAPPING_START_EVENT;
        Frame frame;
        frame.value = map ? json::object() : json::array();
        frame.anchor =
            AsString(map ? event.data.mapping_start.anchor : event.data.sequence_start.anchor);
        frame.start = event.start_mark;
        stack_.push_back(std::move(frame));
        return Status::Ok();
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        return Complete(std::move(frame.value), frame.values + 1, frame.anchor, "", false,
                        frame.start, true);
      }
      case YAML_DOCUMENT_START_EVENT:
        anchors_.clear();
        root_.reset();
        return Status::Ok();
      case YAML_DOCUMENT_END_EVENT:
        if (root_ && !root_->is_null()) {
          if (!several_ && !documents_.empty())
            return Status::Error("several YAML documents; pass exactly one");
          documents_.push_back(std::move(*root_));
        }
        return Status::Ok();
      default:
        return Status::Ok();
    }
  }

  Result<json> Document() {
    if (documents_.empty()) return Status::Error("empty document");
    return std::move(documents_.front());
  }

  Result<std::vector<json>> Documents() {
    if (documents_.empty()) return Status::Error("empty document");
    return std::move(documents_);
  }

 private:
  struct Frame {
    json value;
    std::string anchor;
    yaml_mark_t start{};
    std::size_t values = 0;
    bool has_key = false;
    bool merge = false;  // the pending key is "<<"
    std::string key;
  };

  Status Complete(json value, std::size_t values, const std::string& anchor,
                  const std::string& key_text, bool merge_key, const yaml_mark_t& mark,
                  bool is_collection = false) {
    total_ += values;
    if (total_ > kMaxYamlValues)
      return Status::Error("document expands to too many values (YAML aliases?)");
    if (!anchor.empty()) anchors_[anchor] = Anchored{value, values};
    if (stack_.empty()) {
      root_ = std::move(value);
      return Status::Ok();
    }
    Frame& parent = stack_.back();
    parent.values += values;
    if (parent.value.is_array()) {
      parent.value.push_back(std::move(value));
      return Status::Ok();
    }
    if (!parent.has_key) {
      if (is_collection || (!value.is_string() && key_text.empty() && !value.is_null())) {
        return Status::Error(At(mark) + ": mapping keys must be scalars");
      }
      parent.key = key_text;
      parent.merge = merge_key;
      parent.has_key = true;
      return Status::Ok();
    }
    parent.has_key = false;
    if (parent.merge) return Merge(parent.value, value, mark);
    parent.value[parent.key] = std::move(value);  // a repeated key: the last one wins, as in JSON
    return Status::Ok();
  }

  // "<<: *base" or "<<: [*a, *b]": keys not already present are copied in (go-yaml semantics).
  static Status Merge(json& target, const json& source, const yaml_mark_t& mark) {
    const auto merge_one = [&](const json& map) {
      if (!map.is_object()) return false;
      for (const auto& [k, v] : map.items()) {
        if (!target.contains(k)) target[k] = v;
      }
      return true;
    };
    if (source.is_array()) {
      for (const auto& item : source) {
        if (!merge_one(item))
          return Status::Error(At(mark) + ": << needs a mapping or a list of mappings");
      }
      return Status::Ok();
    }
    if (!merge_one(source))
      return Status::Error(At(mark) + ": << needs a mapping or a list of mappings");
    return Status::Ok();
  }

  std::vector<Frame> stack_;
  std::map<std::string, Anchored> anchors_;
  std::optional<json> root_;
  std::vector<json> documents_;  // the non-empty documents, in order
  bool several_ = false;         // a stream of several documents is accepted
  std::size_t total_ = 0;        // values of the whole stream, against kMaxYamlValues
};

// --- Output -------------------------------------------------------------------------------------

// Can `s` be written as a plain scalar that reads back as this very string? Conservative: when in
// doubt, quote.
bool IsSafePlain(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  const auto first = static_cast<unsigned char>(s.front());
  const bool dash_start = first == '-' && s.size() > 1 && s[1] != ' ';
  if (!(std::isalnum(first) != 0 || first == '_' || first == '/' || first == '.' || dash_start))
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool ok =
        std::isalnum(c) != 0 ||
        std::string_view("_-./:=@,+~ ()$").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
    if (c == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return false;
  }
  if (s.back() == ' ' || s.find(" #") != std::string::npos) return false;
  if (!ResolvePlainScalar(s).is_string()) return false;
  // YAML 1.1 words that other tools (kubectl's go-yaml) read as booleans, and .inf/.nan spellings.
  static const char* const kAmbiguous[] = {
      "y",  "Y",  "yes", "Yes", "YES", "n",    "N",    "no",   "No",   "NO",   "on",
      "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"};
  for (const char* word : kAmbiguous) {
    if (s == word) return false;
  }
  return true;
}

void WriteScalarText(std::string& out, const std::string& s) {
  if (IsSafePlain(s)) {
    out += s;
  } else {
    AppendJsonString(out, s);  // JSON escapes are valid in YAML double-quoted scalars
  }
}

bool IsNonEmptyCollection(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void WriteValue(std::string& out, const json& value, std::size_t indent);

void WriteScalar(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      WriteScalarText(out, value.get_ref<const std::string&>());
      break;
    case json::value_t::null:
      out += "null";
      break;
    case json::value_t::object:
      out += "{}";
      break;
    case json::value_t::array:
      out += "[]";
      break;
    default:
      out += value.dump();  // numbers and booleans: JSON's spelling is YAML's
  }
}

// Writes the entries of a non-empty mapping; the first line continues the current one (after
// "- "), the others start at `indent`.
void WriteMapping(std::string& out, const json& map, std::size_t indent, bool first_inline) {
  bool first = true;
  for (const auto& [key, item] : map.items()) {
    if (!(first && first_inline)) out.append(indent, ' ');
    first = false;
    WriteScalarText(out, key);
    out.push_back(':');
    if (IsNonEmptyCollection(item)) {
      out.push_back('\n');
      WriteValue(out, item, indent + 2);
    } else {
      out.push_back(' ');
      WriteScalar(out, item);
      out.push_back('\n');
    }
  }
}

void WriteValue(std::string& out, const json& value, std::size_t indent) {
  if (value.is_object() && !value.empty()) {
    WriteMapping(out, value, indent, false);
  } else if (value.is_array() && !value.empty()) {
    for (const auto& item : value) {
      out.append(indent, ' ');
      out += "- ";
      if (item.is_object() && !item.empty()) {
        WriteMapping(out, item, indent + 2, true);
      } else if (item.is_array() && !item.empty()) {
        out.push_back('\n');
        WriteValue(out, item, indent + 2);
      } else {
        WriteScalar(out, item);
        out.push_back('\n');
      }
    }
  } else {
    out.append(indent, ' ');
    WriteScalar(out, value);
    out.push_back('\n');
  }
}

}  // namespace

namespace {

Status ParseInto(std::string_view text, Builder& builder) {
  yaml_parser_t parser;
  if (yaml_parser_initialize(&parser) == 0) return Status::Error("out of memory");
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  Status status = Status::Ok();
  while (true) {
    yaml_event_t event;
    if (yaml_parser_parse(&parser, &event) == 0) {
      std::string problem = parser.problem != nullptr ? parser.problem : "syntax error";
      if (parser.context != nullptr) problem = std::string(parser.context) + ": " + problem;
      status = Status::Error("not valid YAML or JSON: " + At(parser.problem_mark) + ": " + problem);
      break;
    }
    const bool done = event.type == YAML_STREAM_END_EVENT;
    status = builder.OnEvent(event);
    yaml_event_delete(&event);
    if (!status.ok() || done) break;
  }
  yaml_parser_delete(&parser);
  return status;
}

}  // namespace

Result<json> ParseYaml(std::string_view text) {
  Builder builder(false);
  if (Status status = ParseInto(text, builder); !status.ok()) return status;
  return builder.Document();
}

Result<std::vector<json>> ParseYamlStream(std::string_view text) {
  Builder builder(true);
  if (Status status = ParseInto(text, builder); !status.ok()) return status;
  return builder.Documents();
}

std::string WriteYaml(const json& value) {
  std::string out;
  WriteValue(out, value, 0);
  return out;
}

}  // namespace irsa::internal
