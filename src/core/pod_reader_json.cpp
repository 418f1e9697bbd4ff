// ReadPod for documents parsed by nlohmann::json (CLI, tests, and the server's fallback path).
#include <algorithm>

#include "irsa/constants.h"
#include "irsa/text.h"
#include "pod_view.h"

namespace irsa::internal {
namespace {

using nlohmann::json;

// The member `key` of object `obj`, or nullptr when absent or null.
const json* Member(const json& obj, std::string_view key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status ReadOptionalString(const json& obj, std::string_view key, std::string_view path,
                          std::string_view& out) {
  const json* value = Member(obj, key);
  if (value == nullptr) return Status::Ok();
  if (!value->is_string()) return Status::Error(std::string(path) + ": must be a string");
  out = value->get_ref<const std::string&>();
  return Status::Ok();
}

// Paths in error messages are built only when there is an error: this runs on every admission.
std::string ItemPath(std::string_view list, std::size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

Status ReadContainer(const json& item, std::string_view list, std::size_t index, ContainerView& c) {
  const auto error = [&](std::string_view suffix, std::string_view problem) {
    return Status::Error(ItemPath(list, index) + std::string(suffix) + ": " + std::string(problem));
  };
  if (!item.is_object()) return error("", "must be an object");
  const json* name = Member(item, "name");
  if (name == nullptr || !name->is_string()) return error(".name", "must be a string");
  c.name = name->get_ref<const std::string&>();

  if (const json* env = Member(item, "env"); env != nullptr) {
    if (!env->is_array()) return error(".env", "must be a list");
    c.has_env_list = true;
    c.env_names.reserve(env->size());
    for (std::size_t i = 0; i < env->size(); ++i) {
      const json& var = (*env)[i];
      if (!var.is_object()) return error(ItemPath(".env", i), "must be an object");
      const json* var_name = Member(var, "name");
      if (var_name == nullptr || !var_name->is_string())
        return error(ItemPath(".env", i) + ".name", "must be a string");
      c.env_names.push_back(var_name->get_ref<const std::string&>());
    }
  }
  if (const json* mounts = Member(item, "volumeMounts"); mounts != nullptr) {
    if (!mounts->is_array()) return error(".volumeMounts", "must be a list");
    c.has_mount_list = true;
    c.mounts.reserve(mounts->size());
    for (std::size_t i = 0; i < mounts->size(); ++i) {
      const json& mount = (*mounts)[i];
      if (!mount.is_object()) return error(ItemPath(".volumeMounts", i), "must be an object");
      MountView view;
      for (const auto& [key, out] :
           {std::pair{"name", &view.name}, std::pair{"mountPath", &view.mount_path}}) {
        const json* value = Member(mount, key);
        if (value == nullptr) continue;
        if (!value->is_string())
          return error(ItemPath(".volumeMounts", i) + "." + key, "must be a string");
        *out = value->get_ref<const std::string&>();
      }
      c.mounts.push_back(view);
    }
  }
  return Status::Ok();
}

Status ReadContainerList(const json& spec, bool init, PodView& pod) {
  const std::string_view path = init ? "spec.initContainers" : "spec.containers";
  const json* list = Member(spec, init ? "initContainers" : "containers");
  if (list == nullptr) return Status::Ok();
  if (!list->is_array()) return Status::Error(std::string(path) + ": must be a list");
  for (std::size_t i = 0; i < list->size(); ++i) {
    ContainerView c;
    c.init = init;
    c.index = i;
    if (auto s = ReadContainer((*list)[i], path, i, c); !s.ok()) return s;
    pod.containers.push_back(std::move(c));
  }
  return Status::Ok();
}

bool IsString(const json* value, std::string_view expected) {
  return value != nullptr && value->is_string() && value->get_ref<const std::string&>() == expected;
}

bool IsWindows(const json& spec) {
  if (const json* selector = Member(spec, "nodeSelector");
      selector != nullptr && selector->is_object()) {
    if (IsString(Member(*selector, kNodeSelectorOs), kWindowsOs) ||
        IsString(Member(*selector, kNodeSelectorOsBeta), kWindowsOs)) {
      return true;
    }
  }
  // spec.os.name (Kubernetes 1.25+) says the same thing more directly.
  const json* os = Member(spec, "os");
  return os != nullptr && os->is_object() && IsString(Member(*os, "name"), kWindowsOs);
}

TokenVolume ReadTokenVolume(const json& volumes) {
  for (const auto& volume : volumes) {
    if (!volume.is_object() || !IsString(Member(volume, "name"), kTokenVolumeName)) continue;
    const json* projected = Member(volume, "projected");
    const json* sources =
        projected != nullptr && projected->is_object() ? Member(*projected, "sources") : nullptr;
    if (sources != nullptr && sources->is_array()) {
      for (const auto& source : *sources) {
        if (source.is_object() && Member(source, "serviceAccountToken") != nullptr)
          return TokenVolume::kProjectedToken;
      }
    }
    return TokenVolume::kForeign;
  }
  return TokenVolume::kAbsent;
}

Status ReadMetadata(const json& metadata, PodView& view) {
  if (!metadata.is_object()) return Status::Error("metadata: must be an object");
  if (auto s = ReadOptionalString(metadata, "name", "metadata.name", view.name); !s.ok()) return s;
  if (auto s =
          ReadOptionalString(metadata, "generateName", "metadata.generateName", view.generate_name);
      !s.ok()) {
    return s;
  }
  if (const json* labels = Member(metadata, "labels"); labels != nullptr) {
    if (!labels->is_object()) return Status::Error("metadata.labels: must be a mapping of strings");
    for (const auto& [key, value] : labels->items()) {
      if (!value.is_string())
        return Status::Error("metadata.labels[" + Quote(key) + "]: must be a string");
      view.labels.emplace(key, value.get_ref<const std::string&>());
    }
  }
  if (const json* annotations = Member(metadata, "annotations"); annotations != nullptr) {
    if (!annotations->is_object())
      return Status::Error("metadata.annotations: must be a mapping of strings");
    for (const auto& [key, value] : annotations->items()) {
      if (value.is_string())
        view.annotations.emplace_back(key, value.get_ref<const std::string&>());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<PodView> ReadPod(const json& pod) {
  if (!pod.is_object()) return Status::Error("the Pod must be an object");
  PodView view;
  if (const json* metadata = Member(pod, "metadata"); metadata != nullptr) {
    if (auto s = ReadMetadata(*metadata, view); !s.ok()) return s;
  }
  const json* spec = Member(pod, "spec");
  if (spec == nullptr) return Status::Error("spec: required (the Pod has no spec)");
  if (!spec->is_object()) return Status::Error("spec: must be an object");

  view.service_account = "default";
  std::string_view deprecated;
  if (auto s = ReadOptionalString(*spec, "serviceAccount", "spec.serviceAccount", deprecated);
      !s.ok())
    return s;
  if (!deprecated.empty()) view.service_account = deprecated;
  std::string_view name;
  if (auto s = ReadOptionalString(*spec, "serviceAccountName", "spec.serviceAccountName", name);
      !s.ok())
    return s;
  if (!name.empty()) view.service_account = name;

  if (auto s = ReadContainerList(*spec, true, view); !s.ok()) return s;
  const std::size_t init_count = view.containers.size();
  if (auto s = ReadContainerList(*spec, false, view); !s.ok()) return s;
  if (view.containers.size() == init_count) {
    return Status::Error("spec.containers: required (a Pod needs at least one container)");
  }
  if (const json* volumes = Member(*spec, "volumes"); volumes != nullptr) {
    if (!volumes->is_array()) return Status::Error("spec.volumes: must be a list");
    view.has_volume_list = true;
    view.token_volume = ReadTokenVolume(*volumes);
  }
  view.windows = IsWindows(*spec);
  return view;
}

}  // namespace irsa::internal
