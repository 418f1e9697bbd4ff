// Helpers shared by the core tests: YAML/JSON literals and configs from text.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "irsa/config.h"
#include "irsa/document.h"

namespace irsa::testing {

// Parses YAML or JSON text; fails the test on error.
inline nlohmann::json Doc(const std::string& text) {
  auto doc = ParseDocument(text);
  EXPECT_TRUE(doc.ok()) << doc.error() << "\n" << text;
  return doc.ok() ? *doc : nlohmann::json();
}

// A validated Config from YAML text; fails the test on error.
inline Config MakeConfig(const std::string& yaml) {
  auto config = ParseConfig(Doc(yaml), "test-config.yaml");
  EXPECT_TRUE(config.ok()) << config.error();
  return config.ok() ? *config : Config();
}

// Standard base64 decoding (the patch field of responses).
inline std::string Base64Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    buffer = (buffer << 6U) | static_cast<unsigned>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  return out;
}

}  // namespace irsa::testing
