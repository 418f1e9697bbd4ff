// LabelSelector with Kubernetes semantics (metav1.LabelSelector): matchLabels AND every
// matchExpressions requirement (In, NotIn, Exists, DoesNotExist). An empty selector matches
// everything, as in Kubernetes.
//
// Never: throws on malformed input (parsing returns a Status naming the field).
// Thread-safety: immutable after parsing; concurrent Matches() calls are safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "irsa/status.h"

namespace irsa {

// Labels of one object, as read from metadata.labels.
using Labels = std::map<std::string, std::string, std::less<>>;

// Labels read from a parsed document without copying them: (key, value) pairs in document order
// that point into the document. With duplicate keys the last pair counts, as in Labels.
using LabelPairs = std::vector<std::pair<std::string_view, std::string_view>>;

// What a selector reads: Labels or LabelPairs, which must outlive the view.
class LabelsView {
 public:
  LabelsView(const Labels& labels)  // NOLINT(google-explicit-constructor): read as Labels
      : map_(&labels) {}
  LabelsView(const LabelPairs& pairs)  // NOLINT(google-explicit-constructor): read as Labels
      : pairs_(&pairs) {}

  // The value of label `key`, if the object has it.
  std::optional<std::string_view> Find(std::string_view key) const;

 private:
  const Labels* map_ = nullptr;
  const LabelPairs* pairs_ = nullptr;
};

struct LabelSelectorRequirement {
  enum class Operator { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Operator op = Operator::kExists;
  std::vector<std::string> values;  // In/NotIn: non-empty; Exists/DoesNotExist: empty
};

class LabelSelector {
 public:
  LabelSelector() = default;

  // Parses a LabelSelector object. `where` prefixes error messages (e.g. "binding \"x\":
  // podSelector"). Validates operators, value presence and label key/value syntax.
  static Result<LabelSelector> Parse(const nlohmann::json& selector, std::string_view where);

  bool Matches(LabelsView labels) const;
  bool empty() const { return match_labels_.empty() && requirements_.empty(); }
  const Labels& match_labels() const { return match_labels_; }
  const std::vector<LabelSelectorRequirement>& requirements() const { return requirements_; }

 private:
  Labels match_labels_;
  std::vector<LabelSelectorRequirement> requirements_;
};

}  // namespace irsa
