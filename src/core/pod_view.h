// PodView: the Pod fields the mutation rules read, and the one reader that fills it from a
// parsed pod (json_dom.h), whoever parsed it: `serve` from the AdmissionReview body, `mutate`,
// the golden cases and the reconciler from their nlohmann::json values (MutatePod).
//
// Owns: the view types and the reader's contract: every field MutatePodView touches is type
// checked, and an error names its JSON path ("spec.containers[1].env[0].name: must be a
// string"), so hostile or broken objects become a clear error instead of an exception.
// Duplicate keys resolve as nlohmann::json resolves them (the last one wins; null is absent).
// Never: owns the pod's text: string_views point into the parsed document, which must outlive
// the view.
// Thread-safety: plain values.
#pragma once

#include <simdjson.h>

#include <optional>
#include <span>
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
  // Views into the pod's pools (PodView::env_name_pool, mount_pool).
  std::span<const std::string_view> env_names;
  std::span<const MountView> mounts;

  bool HasEnv(std::string_view env_name) const;
};

// What the pod already has under the token volume's name.
enum class TokenVolume { kAbsent, kProjectedToken, kForeign };

struct PodView {
  std::string_view name;
  std::string_view generate_name;
  LabelPairs labels;  // string values only (a pod with another is not read)
  std::vector<std::pair<std::string_view, std::string_view>> annotations;  // string values only
  std::string_view service_account;       // spec.serviceAccountName > spec.serviceAccount > default
  std::vector<ContainerView> containers;  // initContainers first, then containers
  bool has_volume_list = false;
  TokenVolume token_volume = TokenVolume::kAbsent;
  bool windows = false;
  // Every container's env names and mounts, one after another: two allocations per pod instead
  // of two per container. Moving a PodView keeps the containers' views valid; copying would not.
  std::vector<std::string_view> env_name_pool;
  std::vector<MountView> mount_pool;

  PodView() = default;
  PodView(PodView&&) = default;
  PodView& operator=(PodView&&) = default;
  PodView(const PodView&) = delete;
  PodView& operator=(const PodView&) = delete;
  ~PodView() = default;

  std::optional<std::string_view> Annotation(std::string_view key) const;
};

// Reads request.object of a Pod CREATE (any JSON value; errors as above).
Result<PodView> ReadPod(simdjson::dom::element pod);

// The Pod rules of docs/reference.md section 4 on a view (MutatePod is ReadPod + this).
Mutation MutatePodView(const Config& config, const PodView& view, std::string_view ns,
                       const ServiceAccountLookup* service_accounts);

}  // namespace irsa::internal
