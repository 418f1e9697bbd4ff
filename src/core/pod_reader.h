// A validated, non-owning view of the Pod fields the mutation rules read.
//
// Owns: type checking of every field MutatePod touches, with errors naming the JSON path
// ("spec.containers[1].env[0].name: must be a string"), so hostile or broken objects become a
// clear error instead of an exception.
// Never: copies the pod (views point into the caller's json, which must outlive them).
// Thread-safety: plain values.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "irsa/label_selector.h"
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
  const nlohmann::json* env = nullptr;     // the env array, or nullptr when absent/null
  const nlohmann::json* mounts = nullptr;  // the volumeMounts array, or nullptr
  std::vector<std::string_view> env_names;
  std::vector<MountView> mount_views;

  bool HasEnv(std::string_view env_name) const;
};

struct PodView {
  std::string_view name;
  std::string_view generate_name;
  Labels labels;
  const nlohmann::json* annotations = nullptr;  // object or nullptr
  std::string_view service_account;
  std::vector<ContainerView> containers;  // initContainers first, then containers
  const nlohmann::json* volumes = nullptr;  // array or nullptr
  bool windows = false;

  // A string annotation value, or nullptr when absent or not a string.
  const std::string* Annotation(const std::string& key) const;
};

Result<PodView> ReadPod(const nlohmann::json& pod);

// Reads metadata.labels into `labels`; errors name the label.
Status ReadLabels(const nlohmann::json& metadata, Labels& labels);

}  // namespace irsa::internal
