// PerconaServerMongoDB CREATE/UPDATE: warnings only. With PBM 2.10+ (operator 1.21+)
// injected web-identity credentials take precedence over a storage's credentialsSecret, which
// silently breaks S3-compatible (MinIO, Ceph) backups that rely on static keys.
#include "irsa/mutation.h"
#include "irsa/text.h"
#include "mutation_support.h"

namespace irsa {
namespace {

using nlohmann::json;

const json* ObjectMember(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return (it == obj.end() || !it->is_object()) ? nullptr : &*it;
}

const std::string* StringMember(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return (it == obj.end() || !it->is_string()) ? nullptr : &it->get_ref<const std::string&>();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Is this endpoint AWS S3 itself (where web identity works)? Host of "https://h:port/path".
bool IsAwsEndpoint(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos)
    url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/:?"));
  std::string host(url);
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host == "amazonaws.com" || EndsWith(host, ".amazonaws.com") ||
         EndsWith(host, ".amazonaws.com.cn");
}

}  // namespace

Result<Mutation> CheckPerconaServerMongoDB(const Config& config, const json& cluster,
                                           std::string_view ns) {
  if (!cluster.is_object()) return Status::Error("the PerconaServerMongoDB must be an object");
  Mutation m;
  m.outcome = Outcome::kSkipped;
  const Binding* binding = nullptr;
  for (const auto& b : config.bindings) {
    if (b.CoversNamespace(ns)) {
      binding = &b;
      break;
    }
  }
  if (binding == nullptr) {
    m.reason = "no binding in this namespace";
    return m;
  }
  m.binding = binding->name;
  m.reason = "checked backup storages";
  const json* spec = ObjectMember(cluster, "spec");
  const json* backup = spec ? ObjectMember(*spec, "backup") : nullptr;
  const json* storages = backup ? ObjectMember(*backup, "storages") : nullptr;
  if (storages == nullptr) return m;
  for (const auto& [name, storage] : storages->items()) {
    const std::string* type = StringMember(storage, "type");
    if (type == nullptr || *type != "s3") continue;  // minio, gcs, azure, filesystem: not ours
    const json* s3 = ObjectMember(storage, "s3");
    if (s3 == nullptr) continue;
    if (const std::string* secret = StringMember(*s3, "credentialsSecret");
        secret && !secret->empty()) {
      m.warnings.Add("backup storage " + Quote(name) + " sets credentialsSecret " + Quote(*secret) +
                     ", but binding " + Quote(binding->name) + " injects " + binding->role_arn +
                     " in namespace " + std::string(ns) +
                     ": PBM 2.10+ uses the injected web identity instead of the secret's keys");
    }
    if (const std::string* url = StringMember(*s3, "endpointUrl");
        url && !url->empty() && !IsAwsEndpoint(*url)) {
      m.warnings.Add("backup storage " + Quote(name) + " uses endpointUrl " + *url +
                     ", which is not AWS S3: the IAM role injected by binding " +
                     Quote(binding->name) + " cannot authenticate there");
    }
  }
  return m;
}

}  // namespace irsa
