// Syntax of the names the rules compare: Kubernetes object names, label keys and values, IAM
// role ARNs. Checked when config is loaded, so a typo fails loudly instead of never matching.
//
// Never: allocates or throws. Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace irsa {

// RFC 1123 label: <= 63 of [a-z0-9-], alphanumeric at both ends (namespace, container names).
bool IsDnsLabel(std::string_view s);
// RFC 1123 subdomain: <= 253, dot-separated DNS labels (ServiceAccount names, label prefixes).
bool IsDnsSubdomain(std::string_view s);
// Label key: [prefix/]name, prefix a DNS subdomain, name <= 63 of [A-Za-z0-9._-] with
// alphanumeric ends.
bool IsValidLabelKey(std::string_view key);
// Label value: empty, or <= 63 of [A-Za-z0-9._-] with alphanumeric ends.
bool IsValidLabelValue(std::string_view value);
// ^arn:aws[a-z0-9-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$  (docs/reference.md section 3)
bool IsValidRoleArn(std::string_view arn);
// AWS region such as us-east-1, cn-north-1, us-gov-west-1, eu-isoe-west-1.
bool IsValidRegion(std::string_view region);

}  // namespace irsa
