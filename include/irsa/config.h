// The injection config (docs/reference.md section 3): defaults, bindings, presets, and its
// validation.
//
// Owns: parsing a YAML/JSON document into a validated Config, and the matching predicates of a
// Binding (namespace, ServiceAccount, preset, podSelector). Every validation error names the
// file, the binding and the field.
// Never: reads the Kubernetes API, logs, or keeps global state. A Config is immutable once built.
// Thread-safety: a const Config may be shared by any number of threads (the server swaps whole
// Configs through a shared_ptr on reload).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/constants.h"
#include "irsa/label_selector.h"
#include "irsa/status.h"

namespace irsa {

enum class Preset { kNone, kPerconaServerMongoDB };

struct Binding {
  std::string name;
  std::string role_arn;
  std::vector<std::string> namespaces;        // "*" = every namespace
  std::vector<std::string> service_accounts;  // "*" = any SA (never annotated)
  Preset preset = Preset::kNone;
  std::optional<LabelSelector> pod_selector;
  std::vector<std::string> containers;  // allow-list; empty = all containers
  bool annotate_service_accounts = true;

  bool CoversNamespace(std::string_view ns) const;
  bool CoversServiceAccount(std::string_view sa) const;
  // Names this SA explicitly (not through "*"): the only SAs a binding may annotate.
  bool NamesServiceAccount(std::string_view sa) const;
  bool AllowsContainer(std::string_view container) const;
  // Preset and podSelector both match the pod's labels.
  bool SelectsPod(LabelsView labels) const;
};

// The annotation and label keys of one prefix, computed once per config rather than per request.
struct AnnotationKeys {
  std::string role_arn;                // <prefix>/role-arn
  std::string audience;                // <prefix>/audience
  std::string sts_regional_endpoints;  // <prefix>/sts-regional-endpoints
  std::string token_expiration;        // <prefix>/token-expiration
  std::string skip_containers;         // <prefix>/skip-containers
  std::string skip_pod_label;          // <prefix>/skip-pod-identity-webhook
  std::string prefix_slash;            // "<prefix>/": what the ServiceAccount cache keeps

  static AnnotationKeys For(std::string_view prefix);
};

struct Config {
  std::string annotation_prefix{kDefaultAnnotationPrefix};
  std::string audience{kDefaultAudience};
  std::int64_t token_expiration_seconds = kDefaultTokenExpirationSeconds;
  std::string token_mount_path{kDefaultTokenMountPath};
  std::string region;  // empty = do not inject a region
  bool sts_regional_endpoints = false;
  bool role_session_name = false;
  std::vector<Binding> bindings;
  // Derived from annotation_prefix by ParseConfig.
  AnnotationKeys keys = AnnotationKeys::For(kDefaultAnnotationPrefix);
};

// Advice about a valid config that is probably not what the admin wants (e.g. a binding that
// annotates the "default" ServiceAccount, so every pod using it gets the role). For logs and
// reconcile output; never an error.
std::vector<std::string> LintConfig(const Config& config);

// Validates a parsed document. `source` (usually the file path) starts every error message.
Result<Config> ParseConfig(const nlohmann::json& document, std::string_view source);
// Reads and parses a YAML or JSON config file.
Result<Config> LoadConfigFile(const std::string& path);

// Preset predicate, exposed for tests and for reconcile's explanations.
bool PresetSelectsPod(Preset preset, LabelsView labels);

}  // namespace irsa
