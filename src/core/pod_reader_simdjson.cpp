// ReadPod for documents parsed by simdjson (the server's hot path). Produces exactly the view
// the nlohmann reader produces for valid pods; on anything unusual it reports an error and the
// caller falls back to the nlohmann path, which owns the error messages. Duplicate keys resolve
// like nlohmann::json: the last one wins.
#include "pod_reader_simdjson.h"

#include <vector>

#include "irsa/constants.h"

namespace irsa::internal {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

const Status kUnreadable = Status::Error("pod not readable on the fast path");

bool Find(object obj, std::string_view key, element& out) { return FindMember(obj, key, out); }

bool FindObject(object obj, std::string_view key, object& out, bool& wrong_type) {
  element e;
  if (!Find(obj, key, e)) return false;
  if (e.get_object().get(out) != simdjson::SUCCESS) wrong_type = true;
  return !wrong_type;
}

// Optional string member: absent/null leaves `out`; another type is an error.
bool ReadOptionalString(object obj, std::string_view key, std::string_view& out) {
  element e;
  if (!Find(obj, key, e)) return true;
  return e.get_string().get(out) == simdjson::SUCCESS;
}

bool IsString(object obj, std::string_view key, std::string_view expected) {
  element e;
  std::string_view s;
  return Find(obj, key, e) && e.get_string().get(s) == simdjson::SUCCESS && s == expected;
}

bool ReadContainer(element item, ContainerView& c) {
  object container;
  if (item.get_object().get(container) != simdjson::SUCCESS) return false;
  element name;
  if (!Find(container, "name", name) || name.get_string().get(c.name) != simdjson::SUCCESS)
    return false;
  element env;
  if (Find(container, "env", env)) {
    simdjson::dom::array list;
    if (env.get_array().get(list) != simdjson::SUCCESS) return false;
    c.has_env_list = true;
    for (const element var : list) {
      object var_object;
      element var_name;
      std::string_view value;
      if (var.get_object().get(var_object) != simdjson::SUCCESS ||
          !Find(var_object, "name", var_name) ||
          var_name.get_string().get(value) != simdjson::SUCCESS) {
        return false;
      }
      c.env_names.push_back(value);
    }
  }
  element mounts;
  if (Find(container, "volumeMounts", mounts)) {
    simdjson::dom::array list;
    if (mounts.get_array().get(list) != simdjson::SUCCESS) return false;
    c.has_mount_list = true;
    for (const element mount : list) {
      object mount_object;
      MountView view;
      if (mount.get_object().get(mount_object) != simdjson::SUCCESS ||
          !ReadOptionalString(mount_object, "name", view.name) ||
          !ReadOptionalString(mount_object, "mountPath", view.mount_path)) {
        return false;
      }
      c.mounts.push_back(view);
    }
  }
  return true;
}

bool ReadContainerList(object spec, bool init, PodView& pod) {
  element list_element;
  if (!Find(spec, init ? "initContainers" : "containers", list_element)) return true;
  simdjson::dom::array list;
  if (list_element.get_array().get(list) != simdjson::SUCCESS) return false;
  std::size_t index = 0;
  for (const element item : list) {
    ContainerView c;
    c.init = init;
    c.index = index++;
    if (!ReadContainer(item, c)) return false;
    pod.containers.push_back(std::move(c));
  }
  return true;
}

TokenVolume ReadTokenVolume(simdjson::dom::array volumes) {
  TokenVolume state = TokenVolume::kAbsent;
  for (const element volume : volumes) {
    object v;
    if (volume.get_object().get(v) != simdjson::SUCCESS || !IsString(v, "name", kTokenVolumeName))
      continue;
    // The first volume with the name decides (as the nlohmann reader does).
    state = TokenVolume::kForeign;
    bool wrong_type = false;
    object projected;
    element sources_element;
    simdjson::dom::array sources;
    if (FindObject(v, "projected", projected, wrong_type) &&
        Find(projected, "sources", sources_element) &&
        sources_element.get_array().get(sources) == simdjson::SUCCESS) {
      for (const element source : sources) {
        object s;
        element token;
        if (source.get_object().get(s) == simdjson::SUCCESS &&
            Find(s, "serviceAccountToken", token)) {
          return TokenVolume::kProjectedToken;
        }
      }
    }
    return state;
  }
  return state;
}

bool IsWindows(object spec) {
  bool wrong_type = false;
  object selector;
  if (FindObject(spec, "nodeSelector", selector, wrong_type) &&
      (IsString(selector, kNodeSelectorOs, kWindowsOs) ||
       IsString(selector, kNodeSelectorOsBeta, kWindowsOs))) {
    return true;
  }
  object os;
  wrong_type = false;
  return FindObject(spec, "os", os, wrong_type) && IsString(os, "name", kWindowsOs);
}

bool ReadMetadata(element metadata_element, PodView& view) {
  object metadata;
  if (metadata_element.get_object().get(metadata) != simdjson::SUCCESS) return false;
  if (!ReadOptionalString(metadata, "name", view.name) ||
      !ReadOptionalString(metadata, "generateName", view.generate_name)) {
    return false;
  }
  element labels_element;
  if (Find(metadata, "labels", labels_element)) {
    object labels;
    if (labels_element.get_object().get(labels) != simdjson::SUCCESS) return false;
    for (const auto field : labels) {
      std::string_view value;
      if (field.value.get_string().get(value) != simdjson::SUCCESS) return false;
      view.labels.insert_or_assign(std::string(field.key), std::string(value));
    }
  }
  element annotations_element;
  if (Find(metadata, "annotations", annotations_element)) {
    object annotations;
    if (annotations_element.get_object().get(annotations) != simdjson::SUCCESS) return false;
    for (const auto field : annotations) {
      std::string_view value;
      if (field.value.get_string().get(value) == simdjson::SUCCESS) {
        view.annotations.emplace_back(field.key, value);
      } else {
        // A later duplicate that is not a string hides the earlier ones, as in nlohmann::json
        // (the last duplicate wins and non-string annotations are ignored).
        std::erase_if(view.annotations,
                      [&](const auto& annotation) { return annotation.first == field.key; });
      }
    }
  }
  return true;
}

}  // namespace

bool FindMember(object obj, std::string_view key, element& out) {
  bool found = false;
  for (const auto field : obj) {
    if (field.key == key) {
      found = !field.value.is_null();
      if (found) out = field.value;
    }
  }
  return found;
}

Result<PodView> ReadPod(simdjson::dom::element pod_element) {
  object pod;
  if (pod_element.get_object().get(pod) != simdjson::SUCCESS) return kUnreadable;
  PodView view;
  element metadata;
  if (Find(pod, "metadata", metadata) && !ReadMetadata(metadata, view)) return kUnreadable;
  element spec_element;
  object spec;
  if (!Find(pod, "spec", spec_element) ||
      spec_element.get_object().get(spec) != simdjson::SUCCESS) {
    return kUnreadable;
  }
  view.service_account = "default";
  std::string_view deprecated;
  std::string_view name;
  if (!ReadOptionalString(spec, "serviceAccount", deprecated) ||
      !ReadOptionalString(spec, "serviceAccountName", name)) {
    return kUnreadable;
  }
  if (!deprecated.empty()) view.service_account = deprecated;
  if (!name.empty()) view.service_account = name;
  if (!ReadContainerList(spec, true, view)) return kUnreadable;
  const std::size_t init_count = view.containers.size();
  if (!ReadContainerList(spec, false, view) || view.containers.size() == init_count)
    return kUnreadable;
  element volumes_element;
  if (Find(spec, "volumes", volumes_element)) {
    simdjson::dom::array volumes;
    if (volumes_element.get_array().get(volumes) != simdjson::SUCCESS) return kUnreadable;
    view.has_volume_list = true;
    view.token_volume = ReadTokenVolume(volumes);
  }
  view.windows = IsWindows(spec);
  return view;
}

}  // namespace irsa::internal
