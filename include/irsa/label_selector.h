// LabelSelector with Kubernetes semantics (metav1.LabelSelector): matchLabels AND every
// matchExpressions requirement (In, NotIn, Exists, DoesNotExist). An empty selector matches
// everything, as in Kubernetes.
//
// Never: throws on malformed input (parsing returns a Status naming the field).
// Thread-safety: immutable after parsing; concurrent Matches() calls are safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/status.h"

namespace irsa {

// Labels of one object, as read from metadata.labels.
using Labels = std::map<std::string, std::string, std::less<>>;

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

  bool Matches(const Labels& labels) const;
  bool empty() const { return match_labels_.empty() && requirements_.empty(); }
  const Labels& match_labels() const { return match_labels_; }
  const std::vector<LabelSelectorRequirement>& requirements() const { return requirements_; }

 private:
  Labels match_labels_;
  std::vector<LabelSelectorRequirement> requirements_;
};

}  // namespace irsa
