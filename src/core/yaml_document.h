// YAML <-> JSON for Kubernetes documents, on libyaml (a small, heavily fuzzed C parser: yaml-cpp
// 0.7 hangs on inputs as short as ", a: [b]}", which a config typo can produce).
//
// Owns: YAML 1.2 core-schema typing of plain scalars (quoted "true" stays a string), anchors
// and aliases with an expansion budget, merge keys ("<<", as kubectl's go-yaml reads them), a
// nesting limit, and block-style output that reads back to the same JSON.
// Never: recurses on input structure while parsing (an explicit stack), or accepts a document
// that expands beyond kMaxYamlValues.
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/status.h"

namespace irsa::internal {

// Upper bound on values produced from one YAML text: aliases can expand exponentially
// ("billion laughs"); a budget turns that into an error instead of an out-of-memory kill.
inline constexpr std::size_t kMaxYamlValues = 1'000'000;

// Parses a YAML stream that must hold one non-empty document (empty documents are ignored).
Result<nlohmann::json> ParseYaml(std::string_view text);
// Parses a YAML stream of one or more documents ("---" separated; empty ones are ignored). The
// expansion budget kMaxYamlValues holds for the whole stream.
Result<std::vector<nlohmann::json>> ParseYamlStream(std::string_view text);

// Block-style YAML; ParseYaml(WriteYaml(v)) == v.
std::string WriteYaml(const nlohmann::json& value);

}  // namespace irsa::internal
