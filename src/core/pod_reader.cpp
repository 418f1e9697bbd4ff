// ReadPod: the one pod reader (see pod_view.h for the contract).
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "irsa/constants.h"
#include "json_dom.h"
#include "pod_view.h"

namespace irsa::internal {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// A pod's containers and labels and a container's env and volumeMounts lists are sized from the
// DOM (which knows their length) up to this many items; a longer (or hostile) list grows as it
// is read, so nothing is reserved for items that were never checked.
constexpr std::size_t kMaxPresizedItems = 64;
// The pools of a pod's env names and mounts start with room for this many per container (real
// pods have a few of each; the Percona mongod container has 10 env vars and 6 mounts), so they
// rarely grow while containers are read.
constexpr std::size_t kPresizedPoolItemsPerContainer = 8;

// Inlined where they are used (GCC would call them: simdjson's getters look large, but
// inlined they are a type check and two loads; called, each result goes through memory).
[[gnu::always_inline]] inline bool IsObject(element e, object& out) {
  return e.get_object().get(out) == simdjson::SUCCESS;
}
[[gnu::always_inline]] inline bool IsArray(element e, array& out) {
  return e.get_array().get(out) == simdjson::SUCCESS;
}
[[gnu::always_inline]] inline bool IsString(element e, std::string_view& out) {
  return e.get_string().get(out) == simdjson::SUCCESS;
}

// Optional string member: absent or null leaves `out`; another type is an error naming `path`.
template <std::size_t N>
Status ReadOptionalString(const Members<N>& members, std::size_t key, std::string_view path,
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

// "<list>[<index>]<suffix>: <problem>"
Status ContainerError(std::string_view list, std::size_t index, std::string_view suffix,
                      std::string_view problem) {
  return Status::Error(ItemPath(list, index) + std::string(suffix) + ": " + std::string(problem));
}

// Reads the list `field` of a container (".env", ".volumeMounts"; `value` is its value) into
// `out`: every item must be an object, and read_item(object, item) names the member of it that
// is not a string ("" when every member it reads is one).
template <typename Item, typename ReadItem>
Status ReadObjectList(element value, std::string_view list, std::size_t index,
                      std::string_view field, std::vector<Item>& out, const ReadItem& read_item) {
  array items;
  if (!IsArray(value, items)) return ContainerError(list, index, field, "must be a list");
  // Room for the list (the pool of the whole pod grows geometrically, never item by item).
  const std::size_t wanted = out.size() + std::min(items.size(), kMaxPresizedItems);
  if (wanted > out.capacity()) out.reserve(std::max(wanted, 2 * out.capacity()));
  std::size_t i = 0;
  for (const element item : items) {
    object item_object;
    if (!IsObject(item, item_object))
      return ContainerError(list, index, ItemPath(field, i), "must be an object");
    // Read where it is kept: a value written through a reference and copied into the pool
    // afterwards is read back before its stores land (a store-forwarding stall per item).
    // On an error the pod is not used, so the half-read item does not matter.
    if (const std::string_view bad = read_item(item_object, out.emplace_back()); !bad.empty())
      return ContainerError(list, index, ItemPath(field, i) + std::string(bad), "must be a string");
    ++i;
  }
  return Status::Ok();
}

// env[i]: its name.
std::string_view ReadEnvName(object var, std::string_view& name) {
  element value;
  return FindMember(var, "name", value) && IsString(value, name) ? "" : ".name";
}

// volumeMounts[i]: its name and mountPath, where present.
std::string_view ReadMount(object mount, MountView& view) {
  const Members members(mount, {"name", "mountPath"});
  element value;
  if (members.Find(0, value) && !IsString(value, view.name)) return ".name";
  if (members.Find(1, value) && !IsString(value, view.mount_path)) return ".mountPath";
  return "";
}

// Where a container's env names and mounts lie in the pod's pools, until the pools stop growing.
struct PoolRanges {
  std::size_t env_begin = 0;
  std::size_t env_end = 0;
  std::size_t mount_begin = 0;
  std::size_t mount_end = 0;
};

Status ReadContainer(element item, std::string_view list, std::size_t index, ContainerView& c,
                     PodView& pod, PoolRanges& ranges) {
  object container;
  if (!IsObject(item, container)) return ContainerError(list, index, "", "must be an object");
  enum { kName, kEnv, kVolumeMounts };
  const Members members(container, {"name", "env", "volumeMounts"});
  element value;
  if (!members.Find(kName, value) || !IsString(value, c.name))
    return ContainerError(list, index, ".name", "must be a string");
  ranges.env_begin = ranges.env_end = pod.env_name_pool.size();
  ranges.mount_begin = ranges.mount_end = pod.mount_pool.size();
  if (members.Find(kEnv, value)) {
    c.has_env_list = true;
    if (auto s = ReadObjectList(value, list, index, ".env", pod.env_name_pool, ReadEnvName);
        !s.ok())
      return s;
    ranges.env_end = pod.env_name_pool.size();
  }
  if (members.Find(kVolumeMounts, value)) {
    c.has_mount_list = true;
    if (auto s = ReadObjectList(value, list, index, ".volumeMounts", pod.mount_pool, ReadMount);
        !s.ok())
      return s;
    ranges.mount_end = pod.mount_pool.size();
  }
  return Status::Ok();
}

// Items in `list_element` when it is a list, else 0.
std::size_t ListSize(const element* list_element) {
  array list;
  return list_element != nullptr && IsArray(*list_element, list) ? list.size() : 0;
}

// spec.initContainers or spec.containers (`list_element`, when present); `ranges` gets one entry
// per container read.
Status ReadContainerList(const element* list_element, bool init, PodView& pod,
                         std::vector<PoolRanges>& ranges) {
  const std::string_view path = init ? "spec.initContainers" : "spec.containers";
  if (list_element == nullptr) return Status::Ok();
  array list;
  if (!IsArray(*list_element, list)) return Status::Error(std::string(path) + ": must be a list");
  std::size_t index = 0;
  for (const element item : list) {
    ContainerView c;
    c.init = init;
    c.index = index;
    PoolRanges range;
    if (auto s = ReadContainer(item, path, index, c, pod, range); !s.ok()) return s;
    pod.containers.push_back(c);
    ranges.push_back(range);
    ++index;
  }
  return Status::Ok();
}

// Points each container's views into the pools, now that they no longer grow.
void PointIntoPools(const std::vector<PoolRanges>& ranges, PodView& pod) {
  for (std::size_t i = 0; i < pod.containers.size(); ++i) {
    const PoolRanges& r = ranges[i];
    pod.containers[i].env_names = std::span<const std::string_view>(pod.env_name_pool)
                                      .subspan(r.env_begin, r.env_end - r.env_begin);
    pod.containers[i].mounts = std::span<const MountView>(pod.mount_pool)
                                   .subspan(r.mount_begin, r.mount_end - r.mount_begin);
  }
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
  view.labels.reserve(std::min(labels.size(), kMaxPresizedItems));
  std::vector<std::string_view> bad;  // keys whose last value so far is not a string
  for (const auto field : labels) {
    std::string_view value;
    if (IsString(field.value, value)) {
      view.labels.emplace_back(field.key, value);
      if (!bad.empty()) std::erase(bad, field.key);
    } else if (std::find(bad.begin(), bad.end(), field.key) == bad.end()) {
      bad.push_back(field.key);
    }
  }
  if (bad.empty()) return Status::Ok();
  return Status::Error("metadata.labels[\"" +
                       std::string(*std::min_element(bad.begin(), bad.end())) +
                       "\"]: must be a string");
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
    view.annotations.reserve(std::min(annotations.size(), kMaxPresizedItems));
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

  const std::size_t container_count = std::min(
      ListSize(present[kInitContainers]) + ListSize(present[kContainers]), kMaxPresizedItems);
  view.containers.reserve(container_count);
  view.env_name_pool.reserve(container_count * kPresizedPoolItemsPerContainer);
  view.mount_pool.reserve(container_count * kPresizedPoolItemsPerContainer);
  std::vector<PoolRanges> ranges;
  ranges.reserve(container_count);
  if (auto s = ReadContainerList(present[kInitContainers], true, view, ranges); !s.ok()) return s;
  const std::size_t init_count = view.containers.size();
  if (auto s = ReadContainerList(present[kContainers], false, view, ranges); !s.ok()) return s;
  if (view.containers.size() == init_count) {
    return Status::Error("spec.containers: required (a Pod needs at least one container)");
  }
  PointIntoPools(ranges, view);
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
