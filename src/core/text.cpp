#include "irsa/text.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define IRSA_BASE64_AVX2 1
#endif

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

#ifdef IRSA_BASE64_AVX2
// 24 bytes in, 32 characters out per step, with AVX2 (W. Mula and D. Lemire, "Faster Base64
// Encoding and Decoding Using AVX2 Instructions", 2018): each 128-bit lane takes 12 bytes,
// spreads every 3 of them over a 32-bit word, cuts the word into four 6-bit indices with two
// multiplies, and turns the indices into characters with one 16-entry table of offsets. Reads
// 4 bytes past the 24 of a step (so it stops 28 bytes before the end) and returns the bytes it
// encoded; the caller encodes the rest.
__attribute__((target("avx2"))) std::size_t EncodeBase64Avx2(const unsigned char* in,
                                                             std::size_t size, char* out) {
  // Per lane, bytes b0 b1 b2 of each group as the word [b1 b0 b2 b1] (little-endian).
  const __m256i spread = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                                          1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  // Added to an index to make its character, picked by the index's range (see below).
  const __m256i offsets =
      _mm256_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                       '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,  //
                       'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                       '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  std::size_t i = 0;
  for (; i + 28 <= size; i += 24, out += 32) {
    const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 12));
    __m256i words = _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
    words = _mm256_shuffle_epi8(words, spread);
    // Indices 0 and 2 of each word (b0 >> 2, and b1's low 4 bits with b2's top 2), moved to
    // the bottom of their 16-bit halves by a high multiply...
    const __m256i first = _mm256_mulhi_epu16(_mm256_and_si256(words, _mm256_set1_epi32(0x0fc0fc00)),
                                             _mm256_set1_epi32(0x04000040));
    // ...indices 1 and 3 (b0's low 2 bits with b1's top 4, and b2's low 6) to the top byte of
    // theirs by a low one.
    const __m256i second = _mm256_mullo_epi16(
        _mm256_and_si256(words, _mm256_set1_epi32(0x003f03f0)), _mm256_set1_epi32(0x01000010));
    const __m256i indices = _mm256_or_si256(first, second);
    // The offset's slot: 13 for 0-25 (A-Z), 0 for 26-51 (a-z), 1-10 for 52-61 (0-9), 11 for 62
    // (+), 12 for 63 (/).
    __m256i slot = _mm256_subs_epu8(indices, _mm256_set1_epi8(51));
    const __m256i upper = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), indices);
    slot = _mm256_or_si256(slot, _mm256_and_si256(upper, _mm256_set1_epi8(13)));
    const __m256i text = _mm256_add_epi8(_mm256_shuffle_epi8(offsets, slot), indices);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), text);
  }
  return i;
}

bool HasAvx2() {
  static const bool kHasAvx2 = __builtin_cpu_supports("avx2") != 0;
  return kHasAvx2;
}
#endif

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
#ifdef IRSA_BASE64_AVX2
  if (HasAvx2()) {
    i = EncodeBase64Avx2(in, data.size(), o);
    o += i / 3 * 4;
  }
#endif
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
