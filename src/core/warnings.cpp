#include "irsa/warnings.h"

#include "irsa/constants.h"

namespace irsa {

void Warnings::Add(std::string warning) {
  if (lines_.size() < kMaxWarnings) {
    lines_.push_back(std::move(warning));
    return;
  }
  // The warning the overflow line replaces is left out too.
  omitted_ = omitted_ == 0 ? 2 : omitted_ + 1;
  lines_.back() = OmittedWarningsLine(omitted_);
}

std::string OmittedWarningsLine(std::size_t omitted) {
  return "... and " + std::to_string(omitted) + " more warning" + (omitted == 1 ? "" : "s") +
         " not shown";
}

void to_json(nlohmann::json& out, const Warnings& warnings) { out = warnings.lines(); }

}  // namespace irsa
