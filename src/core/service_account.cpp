#include "irsa/service_account.h"

#include "irsa/text.h"

namespace irsa {

const std::string* ServiceAccountInfo::Annotation(std::string_view key) const {
  const auto it = annotations.find(key);
  return it == annotations.end() ? nullptr : &it->second;
}

Result<ServiceAccountInfo> ReadServiceAccount(const nlohmann::json& service_account,
                                              std::string_view annotation_prefix) {
  if (!service_account.is_object()) return Status::Error("the ServiceAccount must be an object");
  const auto metadata = service_account.find("metadata");
  if (metadata == service_account.end() || !metadata->is_object()) {
    return Status::Error("metadata: required (the ServiceAccount has no metadata)");
  }
  ServiceAccountInfo info;
  for (const auto& [field, out] :
       {std::pair{"name", &info.name}, std::pair{"namespace", &info.ns}}) {
    const auto value = metadata->find(field);
    if (value == metadata->end() || value->is_null()) continue;
    if (!value->is_string())
      return Status::Error(std::string("metadata.") + field + ": must be a string");
    *out = value->get<std::string>();
  }
  const auto annotations = metadata->find("annotations");
  if (annotations == metadata->end() || annotations->is_null()) return info;
  if (!annotations->is_object())
    return Status::Error("metadata.annotations: must be a mapping of strings");
  for (const auto& [key, value] : annotations->items()) {
    // Only "<prefix>/..." keys are kept: all the rules read, and a small cache entry.
    if (key.size() <= annotation_prefix.size() ||
        key.compare(0, annotation_prefix.size(), annotation_prefix) != 0 ||
        key[annotation_prefix.size()] != '/') {
      continue;
    }
    if (!value.is_string())
      return Status::Error("metadata.annotations[" + Quote(key) + "]: must be a string");
    info.annotations.emplace(key, value.get<std::string>());
  }
  return info;
}

}  // namespace irsa
