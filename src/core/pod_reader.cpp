// ReadPod: the one pod reader (see pod_view.h for the contract).
#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "irsa/constants.h"
#include "json_dom.h"
#include "pod_view.h"

namespace irsa::internal {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// A container's env and volumeMounts lists are sized from the DOM (which knows their length)
// up to this many items; a longer (or hostile) list grows as it is read, so nothing is reserved
// for items that were never checked.
constexpr std::size_t kMaxPresizedItems = 64;

bool IsObject(element e, object& out) { return e.get_object().get(out) == simdjson::SUCCESS; }
bool IsArray(element e, array& out) { return e.get_array().get(out) == simdjson::SUCCESS; }
bool IsString(element e, std::string_view& out) {
  return e.get_string().get(out) == simdjson::SUCCESS;
}

// Optional string member: absent or null leaves `out`; another type is an error naming `path`.
Status ReadOptionalString(const Members& members, std::size_t key, std::string_view path,
                          std::string_view& out) {
  element value;
  if (!members.Find(key, value)) return Status::Ok();
  if (!IsString(value, out)) return Status::Error(std::string(path) + ": must be a string");
  return Status::Ok();
}

bool HasString(object obj, std::string_view key, std::string_view expected) {
  element value;
  std::string_view s;
  return FindMember(obj, key, value) && IsString(value, s) && s == expected;
}

// Paths in error messages are built only when there is an error: this runs on every admission.
std::string ItemPath(std::string_view list, std::size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

Status ReadContainer(element item, std::string_view list, std::size_t index, ContainerView& c) {
  const auto error = [&](std::string_view suffix, std::string_view problem) {
    return Status::Error(ItemPath(list, index) + std::string(suffix) + ": " + std::string(problem));
  };
  object container;
  if (!IsObject(item, container)) return error("", "must be an object");
  enum { kName, kEnv, kVolumeMounts };
  const Members members(container, {"name", "env", "volumeMounts"});
  element name;
  if (!members.Find(kName, name) || !IsString(name, c.name))
    return error(".name", "must be a string");

  element env;
  if (members.Find(kEnv, env)) {
    array vars;
    if (!IsArray(env, vars)) return error(".env", "must be a list");
    c.has_env_list = true;
    c.env_names.reserve(std::min(vars.size(), kMaxPresizedItems));
    std::size_t i = 0;
    for (const element var : vars) {
      object var_object;
      if (!IsObject(var, var_object)) return error(ItemPath(".env", i), "must be an object");
      element var_name;
      std::string_view value;
      if (!FindMember(var_object, "name", var_name) || !IsString(var_name, value))
        return error(ItemPath(".env", i) + ".name", "must be a string");
      c.env_names.push_back(value);
      ++i;
    }
  }
  element mounts;
  if (members.Find(kVolumeMounts, mounts)) {
    array mount_list;
    if (!IsArray(mounts, mount_list)) return error(".volumeMounts", "must be a list");
    c.has_mount_list = true;
    c.mounts.reserve(std::min(mount_list.size(), kMaxPresizedItems));
    std::size_t i = 0;
    for (const element mount : mount_list) {
      object mount_object;
      if (!IsObject(mount, mount_object))
        return error(ItemPath(".volumeMounts", i), "must be an object");
      MountView view;
      const Members mount_members(mount_object, {"name", "mountPath"});
      element value;
      if (mount_members.Find(0, value) && !IsString(value, view.name))
        return error(ItemPath(".volumeMounts", i) + ".name", "must be a string");
      if (mount_members.Find(1, value) && !IsString(value, view.mount_path))
        return error(ItemPath(".volumeMounts", i) + ".mountPath", "must be a string");
      c.mounts.push_back(view);
      ++i;
    }
  }
  return Status::Ok();
}

// spec.initContainers or spec.containers (`list_element`, when present).
Status ReadContainerList(const element* list_element, bool init, PodView& pod) {
  const std::string_view path = init ? "spec.initContainers" : "spec.containers";
  if (list_element == nullptr) return Status::Ok();
  array list;
  if (!IsArray(*list_element, list)) return Status::Error(std::string(path) + ": must be a list");
  std::size_t index = 0;
  for (const element item : list) {
    ContainerView c;
    c.init = init;
    c.index = index;
    if (auto s = ReadContainer(item, path, index, c); !s.ok()) return s;
    pod.containers.push_back(std::move(c));
    ++index;
  }
  return Status::Ok();
}

// The first volume named kTokenVolumeName decides.
TokenVolume ReadTokenVolume(array volumes) {
  for (const element volume : volumes) {
    object v;
    if (!IsObject(volume, v) || !HasString(v, "name", kTokenVolumeName)) continue;
    element projected_element;
    object projected;
    element sources_element;
    array sources;
    if (FindMember(v, "projected", projected_element) && IsObject(projected_element, projected) &&
        FindMember(projected, "sources", sources_element) && IsArray(sources_element, sources)) {
      for (const element source : sources) {
        object s;
        element token;
        if (IsObject(source, s) && FindMember(s, "serviceAccountToken", token))
          return TokenVolume::kProjectedToken;
      }
    }
    return TokenVolume::kForeign;
  }
  return TokenVolume::kAbsent;
}

bool IsWindows(const element* node_selector, const element* os_element) {
  object selector;
  if (node_selector != nullptr && IsObject(*node_selector, selector) &&
      (HasString(selector, kNodeSelectorOs, kWindowsOs) ||
       HasString(selector, kNodeSelectorOsBeta, kWindowsOs))) {
    return true;
  }
  // spec.os.name (Kubernetes 1.25+) says the same thing more directly.
  object os;
  return os_element != nullptr && IsObject(*os_element, os) && HasString(os, "name", kWindowsOs);
}

// metadata.labels: every value must be a string. With duplicate keys the last one counts, and
// of several bad keys the first in key order is named (as a parsed nlohmann::json object has
// them).
Status ReadLabels(object labels, PodView& view) {
  std::set<std::string, std::less<>> bad;
  for (const auto field : labels) {
    std::string_view value;
    if (IsString(field.value, value)) {
      view.labels.insert_or_assign(std::string(field.key), std::string(value));
      if (!bad.empty()) bad.erase(std::string(field.key));
    } else {
      bad.emplace(field.key);
      if (const auto it = view.labels.find(field.key); it != view.labels.end())
        view.labels.erase(it);
    }
  }
  if (bad.empty()) return Status::Ok();
  return Status::Error("metadata.labels[\"" + *bad.begin() + "\"]: must be a string");
}

Status ReadMetadata(element metadata_element, PodView& view) {
  object metadata;
  if (!IsObject(metadata_element, metadata)) return Status::Error("metadata: must be an object");
  enum { kName, kGenerateName, kLabels, kAnnotations };
  const Members members(metadata, {"name", "generateName", "labels", "annotations"});
  if (auto s = ReadOptionalString(members, kName, "metadata.name", view.name); !s.ok()) return s;
  if (auto s =
          ReadOptionalString(members, kGenerateName, "metadata.generateName", view.generate_name);
      !s.ok()) {
    return s;
  }
  element e;
  if (members.Find(kLabels, e)) {
    object labels;
    if (!IsObject(e, labels)) return Status::Error("metadata.labels: must be a mapping of strings");
    if (auto s = ReadLabels(labels, view); !s.ok()) return s;
  }
  if (members.Find(kAnnotations, e)) {
    object annotations;
    if (!IsObject(e, annotations))
      return Status::Error("metadata.annotations: must be a mapping of strings");
    for (const auto field : annotations) {
      std::string_view value;
      if (IsString(field.value, value)) {
        view.annotations.emplace_back(field.key, value);
      } else {
        // Non-string annotations are ignored, and a later duplicate hides the earlier ones.
        std::erase_if(view.annotations,
                      [&](const auto& annotation) { return annotation.first == field.key; });
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<PodView> ReadPod(element pod_element) {
  object pod;
  if (!IsObject(pod_element, pod)) return Status::Error("the Pod must be an object");
  PodView view;
  enum { kMetadata, kSpec };
  const Members pod_members(pod, {"metadata", "spec"});
  element e;
  if (pod_members.Find(kMetadata, e)) {
    if (auto s = ReadMetadata(e, view); !s.ok()) return s;
  }
  if (!pod_members.Find(kSpec, e)) return Status::Error("spec: required (the Pod has no spec)");
  object spec;
  if (!IsObject(e, spec)) return Status::Error("spec: must be an object");
  enum {
    kServiceAccount,
    kServiceAccountName,
    kInitContainers,
    kContainers,
    kVolumes,
    kNodeSelector,
    kOs,
    kSpecKeys
  };
  const Members members(spec, {"serviceAccount", "serviceAccountName", "initContainers",
                               "containers", "volumes", "nodeSelector", "os"});
  std::array<element, kSpecKeys> values;
  std::array<const element*, kSpecKeys> present{};
  for (std::size_t i = 0; i < kSpecKeys; ++i) {
    if (members.Find(i, values[i])) present[i] = &values[i];
  }

  view.service_account = "default";
  std::string_view deprecated;
  if (auto s = ReadOptionalString(members, kServiceAccount, "spec.serviceAccount", deprecated);
      !s.ok())
    return s;
  if (!deprecated.empty()) view.service_account = deprecated;
  std::string_view name;
  if (auto s = ReadOptionalString(members, kServiceAccountName, "spec.serviceAccountName", name);
      !s.ok())
    return s;
  if (!name.empty()) view.service_account = name;

  if (auto s = ReadContainerList(present[kInitContainers], true, view); !s.ok()) return s;
  const std::size_t init_count = view.containers.size();
  if (auto s = ReadContainerList(present[kContainers], false, view); !s.ok()) return s;
  if (view.containers.size() == init_count) {
    return Status::Error("spec.containers: required (a Pod needs at least one container)");
  }
  if (present[kVolumes] != nullptr) {
    array volumes;
    if (!IsArray(*present[kVolumes], volumes)) return Status::Error("spec.volumes: must be a list");
    view.has_volume_list = true;
    view.token_volume = ReadTokenVolume(volumes);
  }
  view.windows = IsWindows(present[kNodeSelector], present[kOs]);
  return view;
}

}  // namespace irsa::internal
