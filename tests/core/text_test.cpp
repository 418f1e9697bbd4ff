// Quote, Trim and base64 (irsa/text.h): the one implementation every module uses.
#include "irsa/text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace irsa {
namespace {

TEST(TextTest, QuoteWrapsTheValueAsWritten) {
  EXPECT_EQ(Quote("psmdb"), "\"psmdb\"");
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("a \"b\""), "\"a \"b\"\"");  // shown as written, not escaped
}

struct TrimCase {
  const char* name;
  std::string_view in;
  std::string_view out;
};

class TrimTest : public ::testing::TestWithParam<TrimCase> {};

TEST_P(TrimTest, RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(Trim(GetParam().in), GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TrimTest,
    ::testing::Values(TrimCase{"Empty", "", ""}, TrimCase{"OnlyWhitespace", " \t\r\n\v\f", ""},
                      TrimCase{"Nothing", "a b", "a b"}, TrimCase{"Both", " \ttoken\r\n", "token"},
                      TrimCase{"InnerKept", "  a \t b  ", "a \t b"},
                      TrimCase{"NonAsciiKept", "\xc2\xa0x\xc2\xa0", "\xc2\xa0x\xc2\xa0"}),
    [](const ::testing::TestParamInfo<TrimCase>& param) { return std::string(param.param.name); });

TEST(TextTest, Base64EncodeMatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("\xff\xfe"), "//4=");
}

TEST(TextTest, Base64DecodeAcceptsPaddingOrNoneAndRejectsGarbage) {
  EXPECT_EQ(Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(Base64Decode("aGVsbG8"), "hello");
  EXPECT_EQ(Base64Decode("aGVs\nbG8=\n"), "hello");
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("a$b").has_value());
  EXPECT_FALSE(Base64Decode("a").has_value());
  EXPECT_FALSE(Base64Decode("aGVsbG8=x").has_value());
  EXPECT_FALSE(Base64Decode("aGVsbG8===").has_value());
}

TEST(TextTest, AppendBase64AppendsWhatBase64EncodeReturns) {
  // Lengths around the six-byte steps and the one- and two-byte tails, after existing text.
  std::string bytes;
  for (int i = 0; i < 64; ++i) bytes.push_back(static_cast<char>(i * 37 + 200));
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string data = bytes.substr(0, n);
    std::string out = "prefix:";
    AppendBase64(out, data);
    EXPECT_EQ(out, "prefix:" + Base64Encode(data)) << n << " bytes";
    EXPECT_EQ(Base64Decode(out.substr(7)), data) << n << " bytes";
  }
  std::string out = "x";
  AppendBase64(out, "foobar+");
  EXPECT_EQ(out, "xZm9vYmFyKw==");
}

// Base64 one bit at a time, as RFC 4648 section 4 describes it: the encoder's fast paths
// (vectorised where the CPU has AVX2, then six bytes per step) must agree with it.
std::string BitwiseBase64(std::string_view data) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (const char c : data) {
    for (int b = 7; b >= 0; --b) {
      value = (value << 1U) | ((static_cast<unsigned char>(c) >> b) & 1U);
      if (++bits == 6) {
        out.push_back(kAlphabet[value]);
        value = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push_back(kAlphabet[value << (6 - bits)]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

TEST(TextTest, Base64AgreesWithABitwiseEncoderOnLongInputs) {
  std::mt19937 random(20261201);
  std::string data;
  for (std::size_t n = 0; n <= 1200; ++n) {
    EXPECT_EQ(Base64Encode(data), BitwiseBase64(data)) << n << " bytes";
    data.push_back(static_cast<char>(random()));
  }
  // Every 6-bit value in every position of a 24-byte step: all 64 characters, often.
  std::string ramp;
  for (int i = 0; i < 3 * 256; ++i) ramp.push_back(static_cast<char>(i * 7 + i / 256));
  EXPECT_EQ(Base64Encode(ramp), BitwiseBase64(ramp));
}

TEST(TextTest, Base64RoundTripsEveryByteAndLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string data = bytes.substr(bytes.size() - n);
    EXPECT_EQ(Base64Decode(Base64Encode(data)), data) << n << " bytes";
  }
}

}  // namespace
}  // namespace irsa
