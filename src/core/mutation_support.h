// Small pieces shared by the mutators: warning collection and "append to a list that may not
// exist yet" patch operations.
//
// Never: used outside src/core. Thread-safety: plain functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "irsa/constants.h"
#include "irsa/json_patch.h"
#include "irsa/mutation.h"

namespace irsa::internal {

// Keeps the response short: kubectl prints every warning, so beyond kMaxWarnings they are dropped.
inline void AddWarning(Mutation& m, std::string warning) {
  if (m.warnings.size() < kMaxWarnings) m.warnings.push_back(std::move(warning));
}

// Appends `items` (a JSON array) to the list at `path`: one "add .../-" per item when the list
// exists, else one "add" that creates it. Never rewrites an existing list.
inline void AppendAll(JsonPatch& patch, const JsonPointer& path, bool list_exists, nlohmann::json items) {
  if (items.empty()) return;
  if (!list_exists) {
    patch.Add(path, std::move(items));
    return;
  }
  const JsonPointer end = path.End();
  for (auto& item : items) patch.Add(end, std::move(item));
}

}  // namespace irsa::internal
