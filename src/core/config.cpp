#include "irsa/config.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>

#include "irsa/document.h"
#include "irsa/kube_names.h"
#include "irsa/text.h"

namespace irsa {
namespace {

using nlohmann::json;

constexpr std::string_view kWildcard = "*";

// Collects typed fields of one mapping, turning every wrong type into a message that names
// where it is: "<source>: binding \"psmdb\": roleArn: must be a string".
class FieldReader {
 public:
  explicit FieldReader(std::string where) : where_(std::move(where)) {}

  Status Error(std::string_view field, std::string_view problem) const {
    return Status::Error(where_ + std::string(field) + ": " + std::string(problem));
  }

  Result<std::string> String(std::string_view field, const json& v) const {
    if (!v.is_string()) return Error(field, "must be a string");
    return v.get<std::string>();
  }
  Result<bool> Bool(std::string_view field, const json& v) const {
    if (!v.is_boolean()) return Error(field, "must be true or false");
    return v.get<bool>();
  }
  // The int64 limits, as the integer and as the double just past the top (2^63).
  static constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();
  static constexpr double kTwoTo63 = 9223372036854775808.0;

  Result<std::int64_t> Integer(std::string_view field, const json& v) const {
    if (v.is_number_unsigned()) {
      if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxInt64)) {
        return Error(field, "is out of range");
      }
      return static_cast<std::int64_t>(v.get<std::uint64_t>());
    }
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float()) {
      // Converting a double outside int64's range is undefined: check the range first
      // (-2^63 is exact as a double; 2^63 is the first value past the top).
      const double d = v.get<double>();
      if (!(d >= -kTwoTo63 && d < kTwoTo63)) return Error(field, "is out of range");
      const auto i = static_cast<std::int64_t>(d);
      if (static_cast<double>(i) == d) return i;
    }
    return Error(field, "must be an integer");
  }
  Result<std::vector<std::string>> StringList(std::string_view field, const json& v) const {
    if (!v.is_array()) return Error(field, "must be a list of strings");
    std::vector<std::string> out;
    for (const auto& item : v) {
      if (!item.is_string()) return Error(field, "must be a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

Status CheckNames(const FieldReader& r, std::string_view field,
                  const std::vector<std::string>& names, bool (*valid)(std::string_view),
                  std::string_view what) {
  if (names.empty()) return r.Error(field, "required: list at least one name, or \"*\"");
  for (const auto& name : names) {
    if (name == kWildcard) {
      if (names.size() > 1) return r.Error(field, "\"*\" must be the only entry");
      continue;
    }
    if (!valid(name)) return r.Error(field, Quote(name) + " is not a valid " + std::string(what));
  }
  return Status::Ok();
}

Result<Binding> ParseBinding(const json& item, std::size_t index, std::string_view source) {
  std::string label = "bindings[" + std::to_string(index) + "]";
  if (item.is_object()) {
    const auto name = item.find("name");
    if (name != item.end() && name->is_string() && !name->get_ref<const std::string&>().empty()) {
      label = "binding " + Quote(name->get_ref<const std::string&>());
    }
  }
  const FieldReader r(std::string(source) + ": " + label + ": ");
  if (!item.is_object()) return Status::Error(r.where() + "must be a mapping");

  Binding b;
  bool has_name = false, has_role = false, has_namespaces = false, has_sas = false;
  for (const auto& [field, value] : item.items()) {
    if (field == "name") {
      IRSA_ASSIGN_OR_RETURN(b.name, r.String(field, value));
      has_name = !b.name.empty();
    } else if (field == "roleArn") {
      IRSA_ASSIGN_OR_RETURN(b.role_arn, r.String(field, value));
      if (!IsValidRoleArn(b.role_arn)) {
        return r.Error(field, Quote(b.role_arn) +
                                  " is not a valid IAM role ARN (expected arn:aws:iam::<12-digit "
                                  "account>:role/<name>)");
      }
      has_role = true;
    } else if (field == "namespaces") {
      IRSA_ASSIGN_OR_RETURN(b.namespaces, r.StringList(field, value));
      if (auto s = CheckNames(r, field, b.namespaces, IsDnsLabel, "namespace name"); !s.ok())
        return s;
      has_namespaces = true;
    } else if (field == "serviceAccounts") {
      IRSA_ASSIGN_OR_RETURN(b.service_accounts, r.StringList(field, value));
      if (auto s = CheckNames(r, field, b.service_accounts, IsDnsSubdomain, "ServiceAccount name");
          !s.ok()) {
        return s;
      }
      has_sas = true;
    } else if (field == "preset") {
      if (value.is_null()) continue;
      std::string preset;
      IRSA_ASSIGN_OR_RETURN(preset, r.String(field, value));
      if (preset != kPresetPerconaServerMongoDB) {
        return r.Error(field, "unknown preset " + Quote(preset) +
                                  " (known: " + std::string(kPresetPerconaServerMongoDB) + ")");
      }
      b.preset = Preset::kPerconaServerMongoDB;
    } else if (field == "podSelector") {
      if (value.is_null()) continue;
      auto selector = LabelSelector::Parse(value, r.where() + "podSelector");
      if (!selector.ok()) return selector.status();
      b.pod_selector = std::move(selector).value();
    } else if (field == "containers") {
      if (value.is_null()) continue;
      IRSA_ASSIGN_OR_RETURN(b.containers, r.StringList(field, value));
      for (const auto& c : b.containers) {
        if (!IsDnsLabel(c)) return r.Error(field, Quote(c) + " is not a valid container name");
      }
    } else if (field == "annotateServiceAccounts") {
      if (value.is_null()) continue;
      IRSA_ASSIGN_OR_RETURN(b.annotate_service_accounts, r.Bool(field, value));
    } else {
      return r.Error(field,
                     "unknown field (expected name, roleArn, namespaces, serviceAccounts, "
                     "preset, podSelector, containers, annotateServiceAccounts)");
    }
  }
  if (!has_name) return r.Error("name", "required");
  if (!has_role) return r.Error("roleArn", "required");
  if (!has_namespaces)
    return r.Error("namespaces", "required: list at least one namespace, or \"*\"");
  if (!has_sas)
    return r.Error("serviceAccounts", "required: list at least one ServiceAccount, or \"*\"");
  return b;
}

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool Binding::CoversNamespace(std::string_view ns) const {
  return Contains(namespaces, kWildcard) || Contains(namespaces, ns);
}

bool Binding::CoversServiceAccount(std::string_view sa) const {
  return Contains(service_accounts, kWildcard) || Contains(service_accounts, sa);
}

bool Binding::NamesServiceAccount(std::string_view sa) const {
  return sa != kWildcard && Contains(service_accounts, sa);
}

bool Binding::AllowsContainer(std::string_view container) const {
  return containers.empty() || Contains(containers, container);
}

bool Binding::SelectsPod(LabelsView labels) const {
  return PresetSelectsPod(preset, labels) && (!pod_selector || pod_selector->Matches(labels));
}

bool PresetSelectsPod(Preset preset, LabelsView labels) {
  if (preset == Preset::kNone) return true;
  const std::optional<std::string_view> name = labels.Find(kLabelAppName);
  if (!name) return false;
  // Operator pods: plain manifests label them percona-server-mongodb-operator, the Percona Helm
  // chart psmdb-operator.
  if (*name == kPerconaOperatorName || *name == kPerconaOperatorHelmName) return true;
  if (*name != kPerconaDatabaseName) return false;
  // Data-bearing members run PBM (physical restores run it inside mongod): mongod (replica
  // sets), cfg (the config-server replica set of a sharded cluster), nonVoting and hidden.
  // Arbiters, mongos and search pods hold no data.
  const std::optional<std::string_view> component = labels.Find(kLabelAppComponent);
  if (!component) return false;
  return *component == kComponentMongod || *component == kComponentConfigServer ||
         *component == kComponentNonVoting || *component == kComponentHidden;
}

AnnotationKeys AnnotationKeys::For(std::string_view prefix) {
  const std::string p = std::string(prefix) + "/";
  return AnnotationKeys{p + std::string(kRoleArnSuffix),
                        p + std::string(kAudienceSuffix),
                        p + std::string(kStsRegionalEndpointsSuffix),
                        p + std::string(kTokenExpirationSuffix),
                        p + std::string(kSkipContainersSuffix),
                        p + std::string(kSkipPodLabelSuffix),
                        p};
}

std::vector<std::string> LintConfig(const Config& config) {
  std::vector<std::string> advice;
  for (const auto& b : config.bindings) {
    if (b.annotate_service_accounts && b.NamesServiceAccount("default")) {
      advice.push_back(
          "binding " + Quote(b.name) +
          " annotates the \"default\" ServiceAccount: every pod that uses it may get " +
          b.role_arn +
          " (any IRSA webhook, EKS's included, injects all pods of an "
          "annotated ServiceAccount); prefer a dedicated ServiceAccount, e.g. through "
          "the PerconaServerMongoDB serviceAccountName fields");
    }
    if (b.annotate_service_accounts &&
        (b.preset != Preset::kNone || b.pod_selector || !b.containers.empty())) {
      advice.push_back(
          "binding " + Quote(b.name) +
          " narrows pods by preset/podSelector/containers but also annotates its "
          "ServiceAccounts: another IRSA webhook (EKS's managed one) would inject every "
          "pod of those ServiceAccounts; set annotateServiceAccounts: false to keep the "
          "narrowing everywhere");
    }
  }
  return advice;
}

Result<Config> ParseConfig(const json& document, std::string_view source) {
  Config config;
  if (document.is_null()) return config;  // an empty file: defaults, no bindings
  const FieldReader r(std::string(source) + ": ");
  if (!document.is_object()) return Status::Error(r.where() + "the config must be a mapping");
  try {
    (void)document.dump();  // every string ends up in JSON responses: it must be valid UTF-8
  } catch (const nlohmann::json::type_error&) {
    return Status::Error(r.where() + "the config is not valid UTF-8");
  }

  for (const auto& [field, value] : document.items()) {
    if (value.is_null() && field != "bindings") continue;  // "key:" with no value keeps the default
    if (field == "annotationPrefix") {
      IRSA_ASSIGN_OR_RETURN(config.annotation_prefix, r.String(field, value));
      if (!IsDnsSubdomain(config.annotation_prefix)) {
        return r.Error(field, Quote(config.annotation_prefix) + " is not a DNS subdomain");
      }
    } else if (field == "audience") {
      IRSA_ASSIGN_OR_RETURN(config.audience, r.String(field, value));
      if (config.audience.empty()) return r.Error(field, "must not be empty");
    } else if (field == "tokenExpirationSeconds") {
      IRSA_ASSIGN_OR_RETURN(config.token_expiration_seconds, r.Integer(field, value));
      if (config.token_expiration_seconds > kMaxTokenExpirationSeconds) {
        return r.Error(field, "must be at most " + std::to_string(kMaxTokenExpirationSeconds));
      }
      config.token_expiration_seconds =
          std::max(config.token_expiration_seconds, kMinTokenExpirationSeconds);
    } else if (field == "tokenMountPath") {
      IRSA_ASSIGN_OR_RETURN(config.token_mount_path, r.String(field, value));
      if (config.token_mount_path.size() < 2 || config.token_mount_path.front() != '/') {
        return r.Error(field,
                       "must be an absolute path such as " + std::string(kDefaultTokenMountPath));
      }
      while (config.token_mount_path.size() > 1 && config.token_mount_path.back() == '/') {
        config.token_mount_path.pop_back();
      }
    } else if (field == "region") {
      IRSA_ASSIGN_OR_RETURN(config.region, r.String(field, value));
      if (!config.region.empty() && !IsValidRegion(config.region)) {
        return r.Error(field, Quote(config.region) + " is not an AWS region such as us-east-1");
      }
    } else if (field == "stsRegionalEndpoints") {
      IRSA_ASSIGN_OR_RETURN(config.sts_regional_endpoints, r.Bool(field, value));
    } else if (field == "roleSessionName") {
      IRSA_ASSIGN_OR_RETURN(config.role_session_name, r.Bool(field, value));
    } else if (field == "bindings") {
      if (value.is_null()) continue;
      if (!value.is_array()) return r.Error(field, "must be a list of bindings");
      std::set<std::string, std::less<>> names;
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto binding = ParseBinding(value[i], i, source);
        if (!binding.ok()) return binding.status();
        if (!names.insert(binding->name).second) {
          return Status::Error(r.where() + "binding " + Quote(binding->name) +
                               ": name: duplicate binding name (bindings[" + std::to_string(i) +
                               "])");
        }
        config.bindings.push_back(std::move(binding).value());
      }
    } else {
      return r.Error(field,
                     "unknown field (expected annotationPrefix, audience, "
                     "tokenExpirationSeconds, tokenMountPath, region, stsRegionalEndpoints, "
                     "roleSessionName, bindings)");
    }
  }
  config.keys = AnnotationKeys::For(config.annotation_prefix);
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  auto document = LoadDocumentFile(path);
  if (!document.ok()) return document.status();
  return ParseConfig(*document, path);
}

}  // namespace irsa
