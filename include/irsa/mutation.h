// The mutation rules: what a Pod (docs/reference.md section 4) or ServiceAccount (section 5) gets,
// and the warnings a PerconaServerMongoDB gets. The heart of the product.
//
// Owns: role resolution (bindings, then the ServiceAccount annotation), settings precedence,
// container eligibility, presence and conflict rules, and the add-only JSON Patch.
// Never: performs I/O, logs, or modifies its inputs; never emits replace/remove operations or
// rewrites an existing array. A malformed object is an error Result, never an exception.
// Thread-safety: pure functions of their arguments.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/config.h"
#include "irsa/json_patch.h"
#include "irsa/service_account.h"
#include "irsa/status.h"
#include "irsa/warnings.h"

namespace irsa {

// What happened to one object; also the `outcome` label of the admission metrics.
enum class Outcome {
  kMutated,    // a non-empty patch
  kUnchanged,  // a role applies, but the object already has everything (idempotency)
  kSkipped,    // nothing applies (no role, skip label, kind not handled)
  kError,      // the object could not be read; allowed without a patch
};
std::string_view OutcomeName(Outcome outcome);

struct Mutation {
  Outcome outcome = Outcome::kSkipped;
  std::string reason;    // short, for logs: why this outcome
  std::string role_arn;  // the role applied or kept, if any
  std::string binding;   // the binding that gave the role; empty if it came from the SA
  JsonPatch patch;
  Warnings warnings;  // at most kMaxWarnings lines; the last says how many more were due
};

// Pod CREATE. `ns` is the namespace the pod is created in. The pod is read from its JSON text by
// the reader `serve` uses on the request (src/core/pod_view.h). The pod's ServiceAccount
// (spec.serviceAccountName, else the deprecated spec.serviceAccount, else "default") is looked
// up in `service_accounts` when the rules need it; nullptr or a miss means only bindings apply.
Result<Mutation> MutatePod(const Config& config, const nlohmann::json& pod, std::string_view ns,
                           const ServiceAccountLookup* service_accounts);

// ServiceAccount CREATE/UPDATE: adds "<prefix>/role-arn" from the first binding that names it.
Result<Mutation> MutateServiceAccount(const Config& config, const nlohmann::json& service_account,
                                      std::string_view ns);

// PerconaServerMongoDB CREATE/UPDATE: never a patch; warnings when IRSA would silently change
// how its S3 backups authenticate.
Result<Mutation> CheckPerconaServerMongoDB(const Config& config, const nlohmann::json& cluster,
                                           std::string_view ns);

}  // namespace irsa
