#include "pod_view.h"

#include <algorithm>

#include "json_dom.h"

namespace irsa::internal {

bool ContainerView::HasEnv(std::string_view env_name) const {
  return std::any_of(env_names.begin(), env_names.end(),
                     [&](std::string_view listed) { return SameKey(listed, env_name); });
}

std::optional<std::string_view> PodView::Annotation(std::string_view key) const {
  // Last one wins, as with duplicate JSON keys in nlohmann::json.
  for (auto it = annotations.rbegin(); it != annotations.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return std::nullopt;
}

}  // namespace irsa::internal
