// Shared by the fuzz targets: configs built once from YAML, and a loud failure for a property
// that does not hold (libFuzzer keeps the input that caused it).
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "irsa/config.h"
#include "irsa/document.h"

namespace irsa::fuzzing {

inline Config ConfigFromYaml(std::string_view yaml) {
  auto doc = ParseDocument(yaml);
  auto config = doc.ok() ? ParseConfig(*doc, "fuzz") : Result<Config>(doc.status());
  if (!config.ok()) {
    std::cerr << "fuzz config: " << config.error() << "\n";
    std::abort();
  }
  return *config;
}

[[noreturn]] inline void Fail(const std::string& what, std::string_view input) {
  std::cerr << "PROPERTY FAILURE: " << what << "\ninput: " << input.substr(0, 2000) << "\n";
  std::abort();
}

}  // namespace irsa::fuzzing
