#include "irsa/json_patch.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>

namespace irsa {
namespace {

// The text of a patch without operations.
constexpr std::string_view kEmptyPatch = "[]";

// An operation's text around its path and value: {"op":"add","path":"<path>","value":<value>}.
constexpr std::string_view kOperationHead = R"({"op":"add","path":")";
constexpr std::string_view kOperationValue = R"(","value":)";

// Whether `token` has a character RFC 6901 escapes in a JSON Pointer ('~' or '/').
bool NeedsPointerEscape(std::string_view token) {
  // (find_first_of would search the two-character set once per character of the token.)
  return std::any_of(token.begin(), token.end(), [](char c) { return c == '~' || c == '/'; });
}

// Whether `s` goes into a JSON string literal as it is.
bool IsJsonPlain(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
  });
}

}  // namespace

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

namespace {

// Whether any of the eight bytes in `word` is a control character, '"' or '\\' (bytes of
// multi-byte UTF-8 sequences are >= 0x80 and never match). Exact: no false positives.
bool AnyNeedsEscape(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  const auto any_zero = [&](std::uint64_t v) { return ((v - kOnes) & ~v & kHighBits) != 0; };
  return ((word - kOnes * 0x20U) & ~word & kHighBits) != 0 || any_zero(word ^ (kOnes * '"')) ||
         any_zero(word ^ (kOnes * '\\'));
}

}  // namespace

void AppendJsonStringBody(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* data = s.data();
  const std::size_t size = s.size();
  std::size_t run = 0;  // start of the current run of characters that need no escaping
  std::size_t i = 0;
  while (i < size) {
    // Eight bytes at a time while none needs escaping: most strings are copied in one append.
    if (i + sizeof(std::uint64_t) <= size) {
      std::uint64_t word = 0;
      std::memcpy(&word, data + i, sizeof word);
      if (!AnyNeedsEscape(word)) {
        i += sizeof word;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(data[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(data + run, i - run);
    run = ++i;
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
  out.append(data + run, size - run);
}

JsonPointer JsonPointer::Child(std::string_view token) const {
  std::string path;
  path.reserve(path_.size() + 1 + token.size());
  path.append(path_).push_back('/');
  if (NeedsPointerEscape(token)) {
    path.append(EscapeJsonPointerToken(token));
  } else {
    path.append(token);  // nothing to escape: the common case, without a temporary
  }
  return JsonPointer(std::move(path), json_plain_ && IsJsonPlain(token));
}

JsonPointer JsonPointer::Index(std::size_t index) const {
  char digits[24];
  const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), index);
  std::string path;
  path.reserve(path_.size() + 1 + static_cast<std::size_t>(end - digits));
  path.append(path_).push_back('/');
  path.append(digits, end);
  return JsonPointer(std::move(path), json_plain_);
}

void JsonPatch::Add(const JsonPointer& path, const nlohmann::json& value) {
  AddSerialized(path, value.dump());
}

void JsonPatch::AddSerialized(const JsonPointer& path, std::string_view value_json) {
  AddSerialized(path, {}, value_json);
}

void JsonPatch::AddSerialized(const JsonPointer& path, std::initializer_list<std::string_view> tail,
                              std::string_view value_json) {
  const std::string_view values[] = {value_json};
  AddEachSerialized(path, tail, values);
}

void JsonPatch::AddEachSerialized(const JsonPointer& path,
                                  std::initializer_list<std::string_view> tail,
                                  std::span<const std::string_view> values_json) {
  if (values_json.empty()) return;
  // The array stays closed: its ']' becomes the ',' before the new operations.
  if (count_ > 0) {
    text_.back() = ',';
  } else {
    text_.push_back('[');
  }
  // The first operation's text up to its value, escaped once; the others copy it.
  const std::size_t head_start = text_.size();
  text_ += kOperationHead;
  if (path.json_plain()) {
    text_ += path.str();
  } else {
    AppendJsonStringBody(text_, path.str());
  }
  for (const std::string_view token : tail) {
    text_.push_back('/');
    if (NeedsPointerEscape(token)) {
      AppendJsonStringBody(text_, EscapeJsonPointerToken(token));
    } else if (IsJsonPlain(token)) {
      text_ += token;  // the common case ("env", "-"): copied as it is
    } else {
      AppendJsonStringBody(text_, token);
    }
  }
  text_ += kOperationValue;
  const std::size_t head_size = text_.size() - head_start;
  // The rest in one piece: each value and its '}', before every value but the first ',' and
  // the head, and the closing ']'. Written in place after one resize: no capacity check per
  // copy.
  std::size_t rest = 1 + (values_json.size() - 1) * (1 + head_size);
  for (const std::string_view value : values_json) rest += value.size() + 1;
  std::size_t at = text_.size();
  text_.resize(at + rest);
  char* out = text_.data();
  for (std::size_t i = 0; i < values_json.size(); ++i) {
    if (i > 0) {
      out[at++] = ',';
      std::memcpy(out + at, out + head_start, head_size);
      at += head_size;
    }
    std::memcpy(out + at, values_json[i].data(), values_json[i].size());
    at += values_json[i].size();
    out[at++] = '}';
  }
  out[at] = ']';
  count_ += values_json.size();
}

void JsonPatch::Reserve(std::size_t bytes) { text_.reserve(bytes); }

void JsonPatch::Append(JsonPatch&& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    text_ = std::move(other.text_);
  } else {
    text_.back() = ',';
    text_.append(other.text_, 1);  // without its '['
  }
  count_ += other.count_;
  other.text_.clear();
  other.count_ = 0;
}

std::string_view JsonPatch::text() const {
  return count_ == 0 ? std::string_view(kEmptyPatch) : std::string_view(text_);
}

std::string JsonPatch::Serialize() const { return std::string(text()); }

nlohmann::json JsonPatch::operations() const { return nlohmann::json::parse(Serialize()); }

}  // namespace irsa
