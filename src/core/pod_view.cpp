#include "pod_view.h"

#include <algorithm>

namespace irsa::internal {

bool ContainerView::HasEnv(std::string_view env_name) const {
  return std::find(env_names.begin(), env_names.end(), env_name) != env_names.end();
}

std::optional<std::string_view> PodView::Annotation(std::string_view key) const {
  // Last one wins, as with duplicate JSON keys in nlohmann::json.
  for (auto it = annotations.rbegin(); it != annotations.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return std::nullopt;
}

}  // namespace irsa::internal
