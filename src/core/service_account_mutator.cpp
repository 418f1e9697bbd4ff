// ServiceAccount CREATE/UPDATE mutation (docs/reference.md section 5).
#include "irsa/mutation.h"
#include "irsa/text.h"
#include "mutation_support.h"

namespace irsa {

Result<Mutation> MutateServiceAccount(const Config& config, const nlohmann::json& service_account,
                                      std::string_view ns) {
  ServiceAccountInfo sa;
  IRSA_ASSIGN_OR_RETURN(sa, ReadServiceAccount(service_account, config.annotation_prefix));
  Mutation m;
  m.outcome = Outcome::kSkipped;
  const Binding* binding = nullptr;
  for (const auto& b : config.bindings) {
    if (b.annotate_service_accounts && b.CoversNamespace(ns) && b.NamesServiceAccount(sa.name)) {
      binding = &b;
      break;
    }
  }
  if (binding == nullptr) {
    m.reason = "no binding names this ServiceAccount";
    return m;
  }
  m.binding = binding->name;
  m.role_arn = binding->role_arn;
  const std::string& key = config.keys.role_arn;
  if (const std::string* existing = sa.Annotation(key); existing != nullptr) {
    m.outcome = Outcome::kUnchanged;
    if (*existing == binding->role_arn) {
      m.reason = "already annotated";
    } else {
      m.role_arn = *existing;
      m.reason = "conflicting role-arn annotation kept";
      m.warnings.Add("ServiceAccount " + std::string(ns) + "/" + sa.name +
                     " keeps its annotation " + key + "=" + *existing + "; binding " +
                     Quote(binding->name) + " would set " + binding->role_arn);
    }
    return m;
  }

  // ReadServiceAccount guaranteed metadata is an object; annotations may be absent or null.
  const auto& metadata = service_account.at("metadata");
  const auto annotations = metadata.find("annotations");
  const JsonPointer annotations_path = JsonPointer().Child("metadata").Child("annotations");
  // The marker travels in the same add-only patch, so what we added can be told from an admin's.
  const std::string marker(kManagedRoleArnAnnotation);
  if (annotations == metadata.end() || annotations->is_null()) {
    m.patch.Add(annotations_path,
                nlohmann::json{{key, binding->role_arn}, {marker, binding->role_arn}});
  } else {
    m.patch.Add(annotations_path.Child(key), binding->role_arn);
    m.patch.Add(annotations_path.Child(marker), binding->role_arn);
  }
  m.outcome = Outcome::kMutated;
  m.reason = "annotated";
  return m;
}

}  // namespace irsa
