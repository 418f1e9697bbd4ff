// `irsa-webhook reconcile --revert` (docs/reference.md section 7): removes exactly the
// ServiceAccount annotations this webhook added, for `helm uninstall` and roll-back.
//
// Owns: listing the ServiceAccounts that carry the marker kManagedRoleArnAnnotation (in the
// namespaces the bindings cover, or cluster-wide for a "*" binding or without bindings: after an
// uninstall the config may be gone), and for each one: while `<prefix>/role-arn` still equals the
// marker, removing both; when someone changed role-arn since, removing only the marker and
// reporting the admin's value as kept.
// Never: removes a role-arn annotation without our marker or with a different value, touches
// anything but those two annotations (a conditional merge patch: a concurrent change gets 409,
// reported), or writes anything in dry_run.
// Thread-safety: Revert() is a plain function; it uses the client from the calling thread.
#pragma once

#include <string_view>

#include "irsa/config.h"
#include "kube/kube_client.h"
#include "kube/reconciler.h"

namespace irsa::kube {

namespace result {
inline constexpr std::string_view kReverted = "reverted";
inline constexpr std::string_view kWouldRevert = "would-revert";
// role-arn was changed after we set it: the admin's value stays, our marker goes.
inline constexpr std::string_view kKeptChanged = "kept-changed";
inline constexpr std::string_view kWouldKeepChanged = "would-keep-changed";
}  // namespace result

struct RevertOptions {
  bool dry_run = false;
};

// Actions are "revert" on kind ServiceAccount; API failures are kFailed entries.
ReconcileReport Revert(const Config& config, const KubeClient& client,
                       const RevertOptions& options);

}  // namespace irsa::kube
