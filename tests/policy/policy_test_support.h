// Test-only checks of IAM documents, written independently of src/core/iam_policy.cpp:
// - PolicyShapeProblems: the structure IAM requires (Version, Statement array, Effect, Action,
//   Resource, Principal and Condition shapes), stricter than IAM where our documents must be;
// - Allows: a small evaluator of the subset of IAM we emit (Allow statements, exact actions,
//   glob resources, StringEquals/StringLike conditions ANDed across operators and keys, ORed
//   across values), so tests assert who is let in, not just what the JSON looks like.
#pragma once

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace irsa::testing {

enum class PolicyKind { kTrust, kPermission };

// IAM glob: '*' any run (also empty), '?' one character. Case-sensitive, like StringLike.
inline bool IamGlob(const std::string& pattern, const std::string& text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (std::size_t skip = 0; skip <= text.size(); ++skip) {
      if (IamGlob(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  return (pattern[0] == '?' || pattern[0] == text[0]) && IamGlob(pattern.substr(1), text.substr(1));
}

inline std::vector<std::string> StringOrList(const nlohmann::json& v) {
  if (v.is_string()) return {v.get<std::string>()};
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
  }
  return out;
}

inline bool IsStringOrNonEmptyStringList(const nlohmann::json& v) {
  if (v.is_string()) return !v.get<std::string>().empty();
  if (!v.is_array() || v.empty()) return false;
  return std::all_of(v.begin(), v.end(),
                     [](const auto& item) { return item.is_string() && !item.empty(); });
}

inline bool IsActionName(const std::string& action) {
  const std::size_t colon = action.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == action.size()) return false;
  return std::all_of(
             action.begin(), action.begin() + static_cast<long>(colon),
             [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }) &&
         std::all_of(action.begin() + static_cast<long>(colon) + 1, action.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// Every problem found; empty when the document has the shape IAM (and this project) requires.
inline std::vector<std::string> PolicyShapeProblems(const nlohmann::json& doc, PolicyKind kind) {
  std::vector<std::string> p;
  if (!doc.is_object()) return {"document is not an object"};
  for (const auto& [key, unused] : doc.items()) {
    if (key != "Version" && key != "Statement") p.push_back("unexpected top-level key " + key);
  }
  if (doc.value("Version", "") != "2012-10-17") p.push_back("Version is not \"2012-10-17\"");
  const auto statements = doc.find("Statement");
  if (statements == doc.end() || !statements->is_array() || statements->empty()) {
    p.push_back("Statement is not a non-empty array");
    return p;
  }
  std::vector<std::string> sids;
  for (const auto& s : *statements) {
    if (!s.is_object()) {
      p.push_back("a statement is not an object");
      continue;
    }
    for (const auto& [key, unused] : s.items()) {
      if (key != "Sid" && key != "Effect" && key != "Principal" && key != "Action" &&
          key != "Resource" && key != "Condition") {
        p.push_back("unexpected statement key " + key);
      }
    }
    if (s.contains("Sid")) {
      const std::string sid = s["Sid"].is_string() ? s["Sid"].get<std::string>() : "";
      if (sid.empty() || !std::all_of(sid.begin(), sid.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c));
          })) {
        p.push_back("Sid must be alphanumeric");
      }
      if (std::find(sids.begin(), sids.end(), sid) != sids.end())
        p.push_back("duplicate Sid " + sid);
      sids.push_back(sid);
    }
    if (s.value("Effect", "") != "Allow") p.push_back("Effect is not \"Allow\"");
    if (!s.contains("Action") || !IsStringOrNonEmptyStringList(s["Action"])) {
      p.push_back("Action is not a string or a non-empty list of strings");
    } else {
      auto actions = StringOrList(s["Action"]);
      for (const auto& a : actions) {
        if (!IsActionName(a)) p.push_back("Action " + a + " is not service:Name");
      }
      std::sort(actions.begin(), actions.end());
      if (std::adjacent_find(actions.begin(), actions.end()) != actions.end())
        p.push_back("duplicate action");
    }
    if (s.contains("Condition")) {
      const auto& condition = s["Condition"];
      if (!condition.is_object() || condition.empty())
        p.push_back("Condition is not a non-empty object");
      for (const auto& [op, block] : condition.items()) {
        if (op != "StringEquals" && op != "StringLike")
          p.push_back("unexpected condition operator " + op);
        if (!block.is_object() || block.empty())
          p.push_back("condition block " + op + " is not a non-empty object");
        for (const auto& [key, values] : block.items()) {
          if (!IsStringOrNonEmptyStringList(values))
            p.push_back("condition " + op + " " + key + " has no values");
          if (op == "StringEquals") {
            for (const auto& v : StringOrList(values)) {
              if (v.find_first_of("*?") != std::string::npos) {
                p.push_back("StringEquals " + key + " has a pattern " + v +
                            " that would only match literally");
              }
            }
          }
        }
      }
    }
    if (kind == PolicyKind::kTrust) {
      if (s.contains("Resource")) p.push_back("a trust policy statement has a Resource");
      if (s.value("Action", "") != "sts:AssumeRoleWithWebIdentity")
        p.push_back("trust Action is not sts:AssumeRoleWithWebIdentity");
      const auto principal = s.value("Principal", nlohmann::json());
      const std::string federated = principal.is_object() ? principal.value("Federated", "") : "";
      if (!principal.is_object() || principal.size() != 1 || federated.rfind("arn:aws", 0) != 0 ||
          federated.find(":oidc-provider/") == std::string::npos) {
        p.push_back("Principal is not {Federated: <OIDC provider ARN>}");
        continue;
      }
      const std::string issuer = federated.substr(federated.find(":oidc-provider/") + 15);
      const auto condition = s.value("Condition", nlohmann::json::object());
      const auto equals = condition.value("StringEquals", nlohmann::json::object());
      if (!equals.contains(issuer + ":aud") || !equals[issuer + ":aud"].is_string()) {
        p.push_back("no StringEquals " + issuer + ":aud string");
      }
      int sub_blocks = 0;
      for (const auto& [op, block] : condition.items()) {
        for (const auto& [key, values] : block.items()) {
          if (key.rfind(issuer + ":", 0) != 0)
            p.push_back("condition key " + key + " is not the provider's");
          if (key != issuer + ":sub") continue;
          ++sub_blocks;
          if (!values.is_array()) p.push_back("sub is not a list");
          for (const auto& v : StringOrList(values)) {
            if (v.rfind("system:serviceaccount:", 0) != 0)
              p.push_back("sub " + v + " is not a ServiceAccount");
          }
        }
      }
      if (sub_blocks != 1) p.push_back("sub must appear under exactly one operator");
    } else {
      if (s.contains("Principal")) p.push_back("a permission policy statement has a Principal");
      if (!s.contains("Resource") || !IsStringOrNonEmptyStringList(s["Resource"])) {
        p.push_back("Resource is not a string or a non-empty list of strings");
      } else {
        for (const auto& r : StringOrList(s["Resource"])) {
          if (r.rfind("arn:aws", 0) != 0) p.push_back("Resource " + r + " is not an ARN");
        }
      }
    }
  }
  return p;
}

using RequestContext = std::map<std::string, std::string>;

inline bool ConditionHolds(const nlohmann::json& condition, const RequestContext& context) {
  for (const auto& [op, block] : condition.items()) {
    for (const auto& [key, values] : block.items()) {
      const auto it = context.find(key);
      if (it == context.end()) return false;  // no IfExists: a missing key fails the condition
      bool any = false;
      for (const auto& v : StringOrList(values)) {
        any = any || (op == "StringEquals" ? v == it->second
                                           : op == "StringLike" && IamGlob(v, it->second));
      }
      if (!any) return false;
    }
  }
  return true;
}

// Does any Allow statement grant `action` on `resource` (empty: a trust policy, no Resource)?
inline bool Allows(const nlohmann::json& doc, const std::string& action,
                   const std::string& resource, const RequestContext& context) {
  for (const auto& s : doc.value("Statement", nlohmann::json::array())) {
    if (s.value("Effect", "") != "Allow") continue;
    const auto actions = StringOrList(s.value("Action", nlohmann::json()));
    if (std::find(actions.begin(), actions.end(), action) == actions.end()) continue;
    if (!resource.empty()) {
      const auto resources = StringOrList(s.value("Resource", nlohmann::json()));
      if (!std::any_of(resources.begin(), resources.end(),
                       [&](const auto& r) { return IamGlob(r, resource); })) {
        continue;
      }
    }
    if (ConditionHolds(s.value("Condition", nlohmann::json::object()), context)) return true;
  }
  return false;
}

// A web-identity token of `issuer` for ServiceAccount ns/sa and `audience`: may it assume the role?
inline bool TrustAllows(const nlohmann::json& doc, const std::string& issuer, const std::string& ns,
                        const std::string& sa, const std::string& audience) {
  return Allows(
      doc, "sts:AssumeRoleWithWebIdentity", "",
      {{issuer + ":aud", audience}, {issuer + ":sub", "system:serviceaccount:" + ns + ":" + sa}});
}

}  // namespace irsa::testing
