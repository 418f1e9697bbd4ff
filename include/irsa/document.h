// Reading and writing Kubernetes documents: JSON or YAML text <-> nlohmann::json.
//
// Owns: turning user-supplied files (config, manifests, `mutate` input) into nlohmann::json
// values, with a nesting limit so no recursive code downstream can be driven into a stack
// overflow; YAML 1.2 core-schema scalar typing (quoted "true" stays a string); YAML output that
// round-trips. (AdmissionReview bodies, and the objects the rules read, are parsed by the core's
// DOM reader, src/core/json_dom.h, with the same limit.)
// Never: interprets Kubernetes semantics.
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/status.h"

namespace irsa {

// Parses JSON strictly (RFC 8259, UTF-8 checked, depth <= kMaxNestingDepth).
Result<nlohmann::json> ParseJson(std::string_view text);
// Parses one JSON or YAML document (JSON is tried first). Several YAML documents are an error.
Result<nlohmann::json> ParseDocument(std::string_view text);
// Parses JSON, or a YAML stream of one or more documents ("---" separated), into its documents.
Result<std::vector<nlohmann::json>> ParseDocuments(std::string_view text);
// Reads a file ("-" = stdin) and parses it with ParseDocument; errors name the file.
Result<nlohmann::json> LoadDocumentFile(const std::string& path);
// Reads a file ("-" = stdin) and parses it with ParseDocuments; errors name the file.
Result<std::vector<nlohmann::json>> LoadDocumentsFile(const std::string& path);
// Reads a whole file ("-" = stdin).
Result<std::string> ReadFileText(const std::string& path);

// Block-style YAML that ParseDocument reads back to the same JSON value.
std::string ToYaml(const nlohmann::json& value);

// Longest chain of nested arrays/objects in JSON text, counted without parsing (strings are
// skipped). Used to refuse hostile nesting before a parser recurses into it.
std::size_t JsonNestingDepth(std::string_view text);

}  // namespace irsa
