// PodView: the Pod fields the mutation rules read, independent of the JSON library that parsed
// them, so the rules exist once while the server reads pods with simdjson and the CLI and tests
// with nlohmann::json.
//
// Owns: the view types and the two readers' contract: every field MutatePod touches is type
// checked, and an error names its JSON path ("spec.containers[1].env[0].name: must be a
// string"), so hostile or broken objects become a clear error instead of an exception. Both
// readers must produce the same view and the same errors (tests/core/review_parity_test.cpp).
// Never: owns the pod's text: string_views point into the parsed document, which must outlive
// the view.
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "irsa/config.h"
#include "irsa/label_selector.h"
#include "irsa/mutation.h"
#include "irsa/status.h"

namespace irsa::internal {

struct MountView {
  std::string_view name;
  std::string_view mount_path;
};

struct ContainerView {
  bool init = false;      // from spec.initContainers
  std::size_t index = 0;  // position in its array
  std::string_view name;
  bool has_env_list = false;    // env is an array (else absent or null: created by the patch)
  bool has_mount_list = false;  // volumeMounts is an array
  std::vector<std::string_view> env_names;
  std::vector<MountView> mounts;

  bool HasEnv(std::string_view env_name) const;
};

// What the pod already has under the token volume's name.
enum class TokenVolume { kAbsent, kProjectedToken, kForeign };

struct PodView {
  std::string_view name;
  std::string_view generate_name;
  Labels labels;
  std::vector<std::pair<std::string_view, std::string_view>> annotations;  // string values only
  std::string_view service_account;       // spec.serviceAccountName > spec.serviceAccount > default
  std::vector<ContainerView> containers;  // initContainers first, then containers
  bool has_volume_list = false;
  TokenVolume token_volume = TokenVolume::kAbsent;
  bool windows = false;

  std::optional<std::string_view> Annotation(std::string_view key) const;
};

// The readers. Errors are identical for identical input whatever the parser.
Result<PodView> ReadPod(const nlohmann::json& pod);

// The Pod rules of docs/reference.md section 4 on a view (MutatePod is ReadPod + this).
Mutation MutatePodView(const Config& config, const PodView& view, std::string_view ns,
                       const ServiceAccountLookup* service_accounts);

}  // namespace irsa::internal
