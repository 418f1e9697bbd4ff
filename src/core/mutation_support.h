// Small pieces shared by the mutators: "append to a list that may not exist yet" patch
// operations.
//
// Never: used outside src/core. Thread-safety: plain functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "irsa/constants.h"
#include "irsa/json_patch.h"
#include "irsa/mutation.h"

namespace irsa::internal {

// `items` (each one JSON text) as one JSON array.
inline std::string ListOf(std::span<const std::string_view> items) {
  std::size_t size = 2 + items.size();
  for (const std::string_view item : items) size += item.size();
  std::string list;
  list.reserve(size);
  list.push_back('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) list.push_back(',');
    list.append(items[i]);
  }
  list.push_back(']');
  return list;
}

// Appends `items` (each one JSON text) to the list `field` of the object at `parent` + `child`
// (`child` a member name or a list index: ("/spec/containers", "2", "env"), or ("", "spec",
// "volumes")): one "add .../-" per item when the list exists, else one "add" that creates it.
// Never rewrites an existing list, and builds no pointer for `child` (an allocation per
// container).
inline void AppendAll(JsonPatch& patch, const JsonPointer& parent, std::string_view child,
                      std::string_view field, bool list_exists,
                      std::span<const std::string_view> items) {
  if (items.empty()) return;
  if (list_exists) {
    patch.AddEachSerialized(parent, {child, field, "-"}, items);
  } else {
    patch.AddSerialized(parent, {child, field}, ListOf(items));
  }
}

}  // namespace irsa::internal
