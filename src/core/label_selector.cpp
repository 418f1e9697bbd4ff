#include "irsa/label_selector.h"

#include <algorithm>

#include "irsa/kube_names.h"
#include "irsa/text.h"

namespace irsa {
namespace {

using nlohmann::json;

Result<std::vector<std::string>> ReadValues(const json& values, const std::string& where) {
  std::vector<std::string> out;
  if (values.is_null()) return out;
  if (!values.is_array()) return Status::Error(where + ": must be a list of strings");
  for (const auto& v : values) {
    if (!v.is_string()) return Status::Error(where + ": must be a list of strings");
    const auto& s = v.get_ref<const std::string&>();
    if (!IsValidLabelValue(s))
      return Status::Error(where + ": " + Quote(s) + " is not a valid label value");
    out.push_back(s);
  }
  return out;
}

}  // namespace

Result<LabelSelector> LabelSelector::Parse(const json& selector, std::string_view where_view) {
  const std::string where(where_view);
  LabelSelector out;
  if (selector.is_null()) return out;
  if (!selector.is_object()) return Status::Error(where + ": must be a mapping");
  for (const auto& [field, value] : selector.items()) {
    if (field == "matchLabels") {
      if (value.is_null()) continue;
      if (!value.is_object())
        return Status::Error(where + ".matchLabels: must be a mapping of strings");
      for (const auto& [key, label_value] : value.items()) {
        const std::string field_where = where + ".matchLabels[" + Quote(key) + "]";
        if (!IsValidLabelKey(key)) return Status::Error(field_where + ": not a valid label key");
        if (!label_value.is_string())
          return Status::Error(field_where + ": value must be a string");
        const auto& s = label_value.get_ref<const std::string&>();
        if (!IsValidLabelValue(s))
          return Status::Error(field_where + ": " + Quote(s) + " is not a valid label value");
        out.match_labels_.emplace(key, s);
      }
    } else if (field == "matchExpressions") {
      if (value.is_null()) continue;
      if (!value.is_array()) return Status::Error(where + ".matchExpressions: must be a list");
      std::size_t index = 0;
      for (const auto& expr : value) {
        const std::string expr_where = where + ".matchExpressions[" + std::to_string(index++) + "]";
        if (!expr.is_object()) return Status::Error(expr_where + ": must be a mapping");
        LabelSelectorRequirement req;
        bool has_operator = false;
        const json* values = nullptr;
        for (const auto& [k, v] : expr.items()) {
          if (k == "key") {
            if (!v.is_string() || !IsValidLabelKey(v.get_ref<const std::string&>())) {
              return Status::Error(expr_where + ".key: must be a valid label key");
            }
            req.key = v.get<std::string>();
          } else if (k == "operator") {
            const std::string op = v.is_string() ? v.get<std::string>() : "";
            if (op == "In")
              req.op = LabelSelectorRequirement::Operator::kIn;
            else if (op == "NotIn")
              req.op = LabelSelectorRequirement::Operator::kNotIn;
            else if (op == "Exists")
              req.op = LabelSelectorRequirement::Operator::kExists;
            else if (op == "DoesNotExist")
              req.op = LabelSelectorRequirement::Operator::kDoesNotExist;
            else
              return Status::Error(expr_where +
                                   ".operator: must be one of In, NotIn, Exists, DoesNotExist");
            has_operator = true;
          } else if (k == "values") {
            values = &v;
          } else {
            return Status::Error(expr_where + ": unknown field " + Quote(k) +
                                 " (expected key, operator, values)");
          }
        }
        if (req.key.empty()) return Status::Error(expr_where + ".key: required");
        if (!has_operator) return Status::Error(expr_where + ".operator: required");
        auto parsed_values = ReadValues(values ? *values : json(), expr_where + ".values");
        if (!parsed_values.ok()) return parsed_values.status();
        req.values = std::move(parsed_values).value();
        const bool set_operator = req.op == LabelSelectorRequirement::Operator::kIn ||
                                  req.op == LabelSelectorRequirement::Operator::kNotIn;
        if (set_operator && req.values.empty()) {
          return Status::Error(expr_where + ".values: must be non-empty for In and NotIn");
        }
        if (!set_operator && !req.values.empty()) {
          return Status::Error(expr_where + ".values: must be empty for Exists and DoesNotExist");
        }
        out.requirements_.push_back(std::move(req));
      }
    } else {
      return Status::Error(where + ": unknown field " + Quote(field) +
                           " (expected matchLabels, matchExpressions)");
    }
  }
  return out;
}

std::optional<std::string_view> LabelsView::Find(std::string_view key) const {
  if (map_ != nullptr) {
    const auto it = map_->find(key);
    if (it == map_->end()) return std::nullopt;
    return it->second;
  }
  if (pairs_ == nullptr) return std::nullopt;
  for (auto it = pairs_->rbegin(); it != pairs_->rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return std::nullopt;
}

bool LabelSelector::Matches(LabelsView labels) const {
  for (const auto& [key, value] : match_labels_) {
    const std::optional<std::string_view> found = labels.Find(key);
    if (!found || *found != value) return false;
  }
  for (const auto& req : requirements_) {
    const std::optional<std::string_view> found = labels.Find(req.key);
    const bool present = found.has_value();
    const auto in_values = [&] {
      return present && std::find(req.values.begin(), req.values.end(), *found) != req.values.end();
    };
    switch (req.op) {
      case LabelSelectorRequirement::Operator::kIn:
        if (!in_values()) return false;
        break;
      case LabelSelectorRequirement::Operator::kNotIn:  // absent key satisfies NotIn, as in
                                                        // Kubernetes
        if (in_values()) return false;
        break;
      case LabelSelectorRequirement::Operator::kExists:
        if (!present) return false;
        break;
      case LabelSelectorRequirement::Operator::kDoesNotExist:
        if (present) return false;
        break;
    }
  }
  return true;
}

}  // namespace irsa
