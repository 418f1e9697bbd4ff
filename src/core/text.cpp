#include "irsa/text.h"

#include <cstdint>

namespace irsa {
namespace {

// Characters Trim() removes.
constexpr std::string_view kWhitespace = " \t\n\v\f\r";

}  // namespace

std::string Quote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  out.append(value);
  out.push_back('"');
  return out;
}

std::string_view Trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

std::string Base64Encode(std::string_view data) {
  // Written into a presized buffer: this encodes every response's patch (a hot spot when built
  // with push_back, per the profile in docs/benchmarks.md).
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out((data.size() + 2) / 3 * 4, '=');
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  char* o = out.data();
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const unsigned v = (unsigned{in[i]} << 16U) | (unsigned{in[i + 1]} << 8U) | unsigned{in[i + 2]};
    *o++ = kAlphabet[(v >> 18U) & 63U];
    *o++ = kAlphabet[(v >> 12U) & 63U];
    *o++ = kAlphabet[(v >> 6U) & 63U];
    *o++ = kAlphabet[v & 63U];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    const unsigned v = (unsigned{in[i]} << 16U) | (rest == 2 ? unsigned{in[i + 1]} << 8U : 0U);
    *o++ = kAlphabet[(v >> 18U) & 63U];
    *o++ = kAlphabet[(v >> 12U) & 63U];
    if (rest == 2) *o = kAlphabet[(v >> 6U) & 63U];  // the rest stays '='
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t padding = 0;
  for (const char c : text) {
    if (kWhitespace.find(c) != std::string_view::npos) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding != 0) return std::nullopt;  // data after padding
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+') {
      value = 62;
    } else if (c == '/') {
      value = 63;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFFu));
    }
  }
  if (padding > 2 || bits >= 6) return std::nullopt;  // a lone sextet cannot encode a byte
  return out;
}

}  // namespace irsa
