#include "irsa/kube_names.h"

#include <algorithm>

namespace irsa {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  while (true) {
    const std::size_t dot = s.find('.');
    if (!IsDnsLabel(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

bool IsValidLabelKey(std::string_view key) {
  const std::size_t slash = key.find('/');
  if (slash == std::string_view::npos) return IsQualifiedNamePart(key);
  return IsDnsSubdomain(key.substr(0, slash)) && IsQualifiedNamePart(key.substr(slash + 1));
}

bool IsValidLabelValue(std::string_view value) {
  return value.empty() || IsQualifiedNamePart(value);
}

bool IsValidRoleArn(std::string_view arn) {
  constexpr std::string_view kArnAws = "arn:aws";
  if (arn.substr(0, kArnAws.size()) != kArnAws) return false;
  arn.remove_prefix(kArnAws.size());
  // partition suffix: [a-z0-9-]* (aws-cn, aws-us-gov, aws-iso-b, ...)
  while (!arn.empty() && (IsLowerAlnum(arn.front()) || arn.front() == '-')) arn.remove_prefix(1);
  constexpr std::string_view kIam = ":iam::";
  if (arn.substr(0, kIam.size()) != kIam) return false;
  arn.remove_prefix(kIam.size());
  if (arn.size() < 12 || !std::all_of(arn.begin(), arn.begin() + 12, IsDigit)) return false;
  arn.remove_prefix(12);
  constexpr std::string_view kRole = ":role/";
  if (arn.substr(0, kRole.size()) != kRole) return false;
  arn.remove_prefix(kRole.size());
  if (arn.empty()) return false;
  constexpr std::string_view kPunct = "+=,.@_/-";
  return std::all_of(arn.begin(), arn.end(), [&](char c) {
    return IsAlnum(c) || kPunct.find(c) != std::string_view::npos;
  });
}

bool IsValidRegion(std::string_view region) {
  // <letters>(-<letters>)+-<digits>: at least two letter groups, then a number.
  std::size_t groups = 0;
  while (true) {
    std::size_t n = 0;
    while (n < region.size() && region[n] >= 'a' && region[n] <= 'z') ++n;
    if (n == 0) break;
    ++groups;
    region.remove_prefix(n);
    if (region.empty() || region.front() != '-') return false;
    region.remove_prefix(1);
  }
  return groups >= 2 && !region.empty() && region.size() <= 3 &&
         std::all_of(region.begin(), region.end(), IsDigit);
}

}  // namespace irsa
