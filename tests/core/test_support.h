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

}  // namespace irsa::testing
