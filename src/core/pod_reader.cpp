#include "pod_reader.h"

#include <algorithm>

#include "irsa/constants.h"

namespace irsa::internal {
namespace {

using nlohmann::json;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

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

  if ((c.env = Member(item, "env")) != nullptr) {
    if (!c.env->is_array()) return error(".env", "must be a list");
    c.env_names.reserve(c.env->size());
    for (std::size_t i = 0; i < c.env->size(); ++i) {
      const json& var = (*c.env)[i];
      if (!var.is_object()) return error(ItemPath(".env", i), "must be an object");
      const json* var_name = Member(var, "name");
      if (var_name == nullptr || !var_name->is_string()) {
        return error(ItemPath(".env", i) + ".name", "must be a string");
      }
      c.env_names.push_back(var_name->get_ref<const std::string&>());
    }
  }
  if ((c.mounts = Member(item, "volumeMounts")) != nullptr) {
    if (!c.mounts->is_array()) return error(".volumeMounts", "must be a list");
    c.mount_views.reserve(c.mounts->size());
    for (std::size_t i = 0; i < c.mounts->size(); ++i) {
      const json& mount = (*c.mounts)[i];
      if (!mount.is_object()) return error(ItemPath(".volumeMounts", i), "must be an object");
      MountView view;
      for (const auto& [key, out] : {std::pair{"name", &view.name}, std::pair{"mountPath", &view.mount_path}}) {
        const json* value = Member(mount, key);
        if (value == nullptr) continue;
        if (!value->is_string()) return error(ItemPath(".volumeMounts", i) + "." + key, "must be a string");
        *out = value->get_ref<const std::string&>();
      }
      c.mount_views.push_back(view);
    }
  }
  return Status::Ok();
}

Status ReadContainerList(const json& spec, std::string_view key, bool init, PodView& pod) {
  const json* list = Member(spec, key);
  if (list == nullptr) return Status::Ok();
  const std::string_view path = init ? "spec.initContainers" : "spec.containers";
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

bool IsWindows(const json& spec) {
  if (const json* selector = Member(spec, "nodeSelector"); selector != nullptr && selector->is_object()) {
    for (const auto key : {kNodeSelectorOs, kNodeSelectorOsBeta}) {
      const json* os = Member(*selector, key);
      if (os != nullptr && os->is_string() && os->get_ref<const std::string&>() == kWindowsOs) return true;
    }
  }
  // spec.os.name (Kubernetes 1.25+) says the same thing more directly.
  if (const json* os = Member(spec, "os"); os != nullptr && os->is_object()) {
    const json* name = Member(*os, "name");
    if (name != nullptr && name->is_string() && name->get_ref<const std::string&>() == kWindowsOs) return true;
  }
  return false;
}

}  // namespace

bool ContainerView::HasEnv(std::string_view env_name) const {
  return std::find(env_names.begin(), env_names.end(), env_name) != env_names.end();
}

const std::string* PodView::Annotation(const std::string& key) const {
  if (annotations == nullptr) return nullptr;
  const json* value = Member(*annotations, key);
  if (value == nullptr || !value->is_string()) return nullptr;
  return &value->get_ref<const std::string&>();
}

Status ReadLabels(const json& metadata, Labels& labels) {
  const json* object = Member(metadata, "labels");
  if (object == nullptr) return Status::Ok();
  if (!object->is_object()) return Status::Error("metadata.labels: must be a mapping of strings");
  for (const auto& [key, value] : object->items()) {
    if (!value.is_string()) return Status::Error("metadata.labels[" + Quote(key) + "]: must be a string");
    labels.emplace(key, value.get<std::string>());
  }
  return Status::Ok();
}

Result<PodView> ReadPod(const json& pod) {
  if (!pod.is_object()) return Status::Error("the Pod must be an object");
  PodView view;
  if (const json* metadata = Member(pod, "metadata"); metadata != nullptr) {
    if (!metadata->is_object()) return Status::Error("metadata: must be an object");
    if (auto s = ReadOptionalString(*metadata, "name", "metadata.name", view.name); !s.ok()) return s;
    if (auto s = ReadOptionalString(*metadata, "generateName", "metadata.generateName", view.generate_name);
        !s.ok()) {
      return s;
    }
    if (auto s = ReadLabels(*metadata, view.labels); !s.ok()) return s;
    if ((view.annotations = Member(*metadata, "annotations")) != nullptr && !view.annotations->is_object()) {
      return Status::Error("metadata.annotations: must be a mapping of strings");
    }
  }
  const json* spec = Member(pod, "spec");
  if (spec == nullptr) return Status::Error("spec: required (the Pod has no spec)");
  if (!spec->is_object()) return Status::Error("spec: must be an object");

  view.service_account = "default";
  std::string_view deprecated;
  if (auto s = ReadOptionalString(*spec, "serviceAccount", "spec.serviceAccount", deprecated); !s.ok()) return s;
  if (!deprecated.empty()) view.service_account = deprecated;
  std::string_view name;
  if (auto s = ReadOptionalString(*spec, "serviceAccountName", "spec.serviceAccountName", name); !s.ok()) return s;
  if (!name.empty()) view.service_account = name;

  if (auto s = ReadContainerList(*spec, "initContainers", true, view); !s.ok()) return s;
  const std::size_t init_count = view.containers.size();
  if (auto s = ReadContainerList(*spec, "containers", false, view); !s.ok()) return s;
  if (view.containers.size() == init_count) {
    return Status::Error("spec.containers: required (a Pod needs at least one container)");
  }
  if ((view.volumes = Member(*spec, "volumes")) != nullptr && !view.volumes->is_array()) {
    return Status::Error("spec.volumes: must be a list");
  }
  view.windows = IsWindows(*spec);
  return view;
}

}  // namespace irsa::internal
