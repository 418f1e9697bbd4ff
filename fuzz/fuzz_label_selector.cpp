// LabelSelector parsing and matching on arbitrary documents: never crashes; an empty selector
// matches everything.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "irsa/document.h"
#include "irsa/label_selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = irsa::ParseDocument(text);
  if (!doc.ok()) return 0;
  auto selector = irsa::LabelSelector::Parse(*doc, "podSelector");
  if (!selector.ok()) return 0;
  static const irsa::Labels kLabels[] = {
      {}, {{"app", "db"}, {"tier", "backend"}}, {{"a", ""}, {"k", "v"}}};
  for (const auto& labels : kLabels) {
    const bool matches = selector->Matches(labels);
    if (selector->empty() && !matches) std::abort();
  }
  return 0;
}
