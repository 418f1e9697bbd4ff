#include "http_message.h"

#include <cctype>

#include "irsa/text.h"

namespace irsa::server {
namespace {

// Content-Length values longer than this are refused (2^63 has 19 digits).
constexpr std::size_t kMaxContentLengthDigits = 19;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

std::optional<std::uint64_t> ParseContentLength(std::string_view value) {
  value = Trim(value);
  if (value.empty() || value.size() > kMaxContentLengthDigits) return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool IsJsonContentType(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  return EqualsIgnoreCase(Trim(content_type.substr(0, semicolon)), "application/json");
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string RenderResponse(const Response& response, bool close, bool head_request) {
  std::string out;
  out.reserve(160 + (head_request ? 0 : response.body.size()));
  out.append("HTTP/1.1 ");
  out.append(std::to_string(response.status));
  out.push_back(' ');
  out.append(ReasonPhrase(response.status));
  out.append("\r\n");
  AppendHeader(out, "Content-Type", response.content_type);
  AppendHeader(out, "Content-Length", std::to_string(response.body.size()));
  if (!response.allow.empty()) AppendHeader(out, "Allow", response.allow);
  if (close) AppendHeader(out, "Connection", "close");
  out.append("\r\n");
  if (!head_request) out.append(response.body);
  return out;
}

}  // namespace irsa::server
