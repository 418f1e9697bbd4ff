#include "irsa/text.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace irsa {
namespace {

// Characters Trim() removes.
constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// RFC 4648 section 4: the standard base64 alphabet, indexed by a 6-bit value.
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Bits of input one entry of kBase64Pairs encodes: two base64 characters.
constexpr unsigned kPairBits = 12;

// The two characters of every 12-bit value (8 KiB): one lookup writes two characters, so the
// encoder does half the lookups of a 64-entry table. Base64 encodes every response's patch.
constexpr auto kBase64Pairs = [] {
  std::array<char, (std::size_t{1} << kPairBits) * 2> pairs{};
  for (std::size_t v = 0; v < (std::size_t{1} << kPairBits); ++v) {
    pairs[2 * v] = kBase64Alphabet[v >> 6U];
    pairs[2 * v + 1] = kBase64Alphabet[v & 63U];
  }
  return pairs;
}();

// The pair for the low 12 bits of `bits`.
const char* PairAt(std::uint64_t bits) {
  return &kBase64Pairs[2 * (bits & ((std::uint64_t{1} << kPairBits) - 1))];
}

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

void AppendBase64(std::string& out, std::string_view data) {
  const std::size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4);
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  char* o = out.data() + start;
  std::size_t i = 0;
  // Six bytes (two 24-bit groups) per step from one unaligned 64-bit read, written as four
  // two-character pairs; the two bytes read past the six are ignored, and never past the end.
  for (; i + sizeof(std::uint64_t) <= data.size(); i += 6, o += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, in + i, sizeof word);
    // The first byte in the top bits (GCC and Clang have the builtin).
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    std::memcpy(o, PairAt(word >> 52U), 2);
    std::memcpy(o + 2, PairAt(word >> 40U), 2);
    std::memcpy(o + 4, PairAt(word >> 28U), 2);
    std::memcpy(o + 6, PairAt(word >> 16U), 2);
  }
  for (; i + 3 <= data.size(); i += 3, o += 4) {
    const unsigned v = (unsigned{in[i]} << 16U) | (unsigned{in[i + 1]} << 8U) | unsigned{in[i + 2]};
    std::memcpy(o, PairAt(v >> 12U), 2);
    std::memcpy(o + 2, PairAt(v), 2);
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    const unsigned v = (unsigned{in[i]} << 16U) | (rest == 2 ? unsigned{in[i + 1]} << 8U : 0U);
    std::memcpy(o, PairAt(v >> 12U), 2);
    o[2] = rest == 2 ? kBase64Alphabet[(v >> 6U) & 63U] : '=';
    o[3] = '=';
  }
}

std::string Base64Encode(std::string_view data) {
  std::string out;
  AppendBase64(out, data);
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
