#include "irsa/document.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "irsa/constants.h"
#include "irsa/text.h"
#include "yaml_document.h"

namespace irsa {
namespace {

using nlohmann::json;

std::string CleanJsonError(const std::string& what) {
  // "[json.exception.parse_error.101] parse error at line 1..." -> "parse error at line 1..."
  const auto close = what.find("] ");
  std::string message = close == std::string::npos ? what : what.substr(close + 2);
  // nlohmann quotes the token it failed on ("; last read: '...'"): any part of the input, an
  // env value or a token included, as long as the whole body. The server logs these errors and
  // returns them to the kube-apiserver (which may log or show them), so the quote goes; the
  // line and column say where.
  if (const auto quote = message.find("; last read: '"); quote != std::string::npos)
    message.erase(quote);
  return message;
}

// Whether the first character that is not whitespace opens a JSON object or array.
bool LooksLikeJson(std::string_view text) {
  const std::string_view body = Trim(text);
  return !body.empty() && (body.front() == '{' || body.front() == '[');
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
  if (Trim(text).empty()) return Status::Error("empty document");
  Status json_error = Status::Ok();
  if (LooksLikeJson(text)) {
    auto parsed = ParseJson(text);
    if (parsed.ok()) return parsed;
    json_error = parsed.status();
  }
  auto yaml = internal::ParseYaml(text);
  if (!yaml.ok() && !json_error.ok())
    return json_error;  // it looked like JSON: the JSON error is clearer
  return yaml;
}

Result<std::vector<json>> ParseDocuments(std::string_view text) {
  const bool looks_like_json = LooksLikeJson(text);
  if (looks_like_json) {
    auto parsed = ParseJson(text);
    if (parsed.ok()) return std::vector<json>{std::move(parsed).value()};
  }
  auto documents = internal::ParseYamlStream(text);
  if (!documents.ok()) {
    // Looked like JSON and is not YAML either: the JSON error is clearer.
    if (looks_like_json) {
      auto parsed = ParseJson(text);
      return parsed.status();
    }
    return documents.status();
  }
  return documents;
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
  if (!doc.ok())
    return Status::Error((path == "-" ? std::string("stdin") : path) + ": " + doc.error());
  return doc;
}

Result<std::vector<json>> LoadDocumentsFile(const std::string& path) {
  auto text = ReadFileText(path);
  if (!text.ok()) return text.status();
  auto docs = ParseDocuments(*text);
  if (!docs.ok())
    return Status::Error((path == "-" ? std::string("stdin") : path) + ": " + docs.error());
  return docs;
}

std::string ToYaml(const json& value) { return internal::WriteYaml(value); }

}  // namespace irsa
