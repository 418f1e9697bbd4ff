// Pod CREATE mutation (docs/reference.md section 4).
#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <optional>
#include <span>

#include "irsa/constants.h"
#include "irsa/kube_names.h"
#include "irsa/mutation.h"
#include "irsa/text.h"
#include "json_dom.h"
#include "mutation_support.h"
#include "pod_view.h"

namespace irsa {
namespace {

using internal::PodView;
using nlohmann::json;

// What the patch text of one pod takes, to size its buffer once: the volume operation (about
// 300 bytes), and per container its env and mount operations (about 700 bytes with a 60-byte
// role ARN and a region).
constexpr std::size_t kPatchBytesPerPod = 512;
constexpr std::size_t kPatchBytesPerContainer = 1024;
// The JSON text around the strings of one env or volumeMounts item (at most 40 bytes), with
// room for a few escapes: its buffer is sized once.
constexpr std::size_t kJsonItemBytes = 48;
// Env vars one container can get: AWS_STS_REGIONAL_ENDPOINTS, AWS_DEFAULT_REGION, AWS_REGION,
// AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME.
constexpr std::size_t kMaxInjectedEnvVars = 6;

// Settings in force for one pod after precedence (pod > ServiceAccount > config).
struct TokenSettings {
  std::string_view audience;
  std::int64_t expiration_seconds = kDefaultTokenExpirationSeconds;
  bool sts_regional = false;
};

// "86400" -> 86400; below the minimum -> the minimum; empty, garbage or above the Kubernetes
// maximum -> nullopt (the next level of precedence applies).
std::optional<std::int64_t> ParseExpiration(std::optional<std::string_view> text) {
  if (!text || text->empty()) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value > kMaxTokenExpirationSeconds) return std::nullopt;
  return std::max(value, kMinTokenExpirationSeconds);
}

// Go's strconv.ParseBool spellings, as aws/amazon-eks-pod-identity-webhook accepts them.
std::optional<bool> ParseBool(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  static constexpr std::string_view kTrue[] = {"1", "t", "T", "true", "TRUE", "True"};
  static constexpr std::string_view kFalse[] = {"0", "f", "F", "false", "FALSE", "False"};
  if (std::find(std::begin(kTrue), std::end(kTrue), *text) != std::end(kTrue)) return true;
  if (std::find(std::begin(kFalse), std::end(kFalse), *text) != std::end(kFalse)) return false;
  return std::nullopt;
}

std::optional<std::string_view> AsView(const std::string* s) {
  return s == nullptr ? std::nullopt : std::optional<std::string_view>(*s);
}

TokenSettings ResolveSettings(const Config& config, const PodView& pod,
                              const ServiceAccountInfo* sa) {
  const AnnotationKeys& keys = config.keys;
  TokenSettings s;
  s.audience = config.audience;
  s.expiration_seconds = config.token_expiration_seconds;
  s.sts_regional = config.sts_regional_endpoints;
  if (sa != nullptr) {
    if (const std::string* audience = sa->Annotation(keys.audience);
        audience && !audience->empty()) {
      s.audience = *audience;
    }
    if (auto sts = ParseBool(AsView(sa->Annotation(keys.sts_regional_endpoints))))
      s.sts_regional = *sts;
    if (auto exp = ParseExpiration(AsView(sa->Annotation(keys.token_expiration))))
      s.expiration_seconds = *exp;
  }
  if (auto exp = ParseExpiration(pod.Annotation(keys.token_expiration)))
    s.expiration_seconds = *exp;
  return s;
}

// Names listed in the skip-containers annotation ("a, b ,c").
std::vector<std::string_view> SkippedContainers(const PodView& pod, const AnnotationKeys& keys) {
  std::vector<std::string_view> names;
  const std::optional<std::string_view> list = pod.Annotation(keys.skip_containers);
  if (!list) return names;
  std::string_view rest = *list;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = Trim(rest.substr(0, comma));
    if (!item.empty()) names.push_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return names;
}

std::string_view TrimTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

std::string TokenFilePath(std::string_view mount_dir, bool windows) {
  std::string path(TrimTrailingSlashes(mount_dir));
  if (path != "/") path.push_back('/');
  path.append(kTokenFileName);
  if (windows) {
    std::replace(path.begin(), path.end(), '/', '\\');
    path.insert(0, "C:");
  }
  return path;
}

// {"name":<name>,"value":<value>}
std::string EnvVar(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(kJsonItemBytes + name.size() + value.size());
  out += R"({"name":)";
  AppendJsonString(out, name);
  out += R"(,"value":)";
  AppendJsonString(out, value);
  out.push_back('}');
  return out;
}

// AWS_ROLE_SESSION_NAME from the pod's metadata.name (a fieldRef, resolved by the kubelet).
std::string RoleSessionNameEnv() {
  return R"({"name":")" + std::string(kEnvRoleSessionName) +
         R"(","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}})";
}

std::string TokenMount(std::string_view mount_dir) {
  std::string out;
  out.reserve(kJsonItemBytes + kTokenVolumeName.size() + mount_dir.size());
  out += R"({"name":)";
  AppendJsonString(out, kTokenVolumeName);
  out += R"(,"mountPath":)";
  AppendJsonString(out, mount_dir);
  out += R"(,"readOnly":true})";
  return out;
}

std::string TokenVolumeSource(const TokenSettings& settings) {
  std::string out;
  out.reserve(4 * kJsonItemBytes + settings.audience.size());  // about 150 bytes of JSON around it
  out += R"({"name":)";
  AppendJsonString(out, kTokenVolumeName);
  out += R"(,"projected":{"sources":[{"serviceAccountToken":{"audience":)";
  AppendJsonString(out, settings.audience);
  out += R"(,"expirationSeconds":)";
  out += std::to_string(settings.expiration_seconds);
  out += R"(,"path":)";
  AppendJsonString(out, kTokenFileName);
  out += "}}]}}";
  return out;
}

struct RoleChoice {
  std::string_view role_arn;         // in the config or the ServiceAccount found, both outliving it
  const Binding* binding = nullptr;  // nullptr: the role came from the ServiceAccount annotation
};

// Role resolution, docs/reference.md section 4, steps 1-3. Returns nullopt with
// m.outcome/reason/warnings set when the pod gets no role.
std::optional<RoleChoice> ResolveRole(const Config& config, const PodView& pod, std::string_view ns,
                                      const ServiceAccountInfo* sa, Mutation& m) {
  const Binding* covering = nullptr;
  for (const auto& binding : config.bindings) {
    if (!binding.CoversNamespace(ns) || !binding.CoversServiceAccount(pod.service_account))
      continue;
    if (binding.SelectsPod(pod.labels)) return RoleChoice{binding.role_arn, &binding};
    if (covering == nullptr) covering = &binding;
  }
  if (covering != nullptr) {
    // The bindings alone decide who in this ServiceAccount gets a role; the annotation this
    // webhook adds to the SA must not widen them.
    m.reason = "binding " + Quote(covering->name) +
               " covers the ServiceAccount but does not select this pod";
    return std::nullopt;
  }
  if (sa != nullptr) {
    if (const std::string* arn = sa->Annotation(config.keys.role_arn); arn != nullptr) {
      if (IsValidRoleArn(*arn)) return RoleChoice{*arn, nullptr};
      m.warnings.Add("ServiceAccount " + std::string(ns) + "/" + std::string(pod.service_account) +
                     ": annotation " + config.keys.role_arn + " is not a valid IAM role ARN (" +
                     Quote(*arn) + "); no credentials injected");
      m.reason = "invalid role-arn annotation on the ServiceAccount";
      return std::nullopt;
    }
  }
  m.reason = "no binding or ServiceAccount role for this pod";
  return std::nullopt;
}

}  // namespace

Result<Mutation> MutatePod(const Config& config, const json& pod, std::string_view ns,
                           const ServiceAccountLookup* service_accounts) {
  internal::JsonDom dom;
  auto parsed = internal::ParseJsonValue(dom, pod);
  if (!parsed.ok()) return parsed.status();
  auto view = internal::ReadPod(*parsed);
  if (!view.ok()) return view.status();
  return internal::MutatePodView(config, *view, ns, service_accounts);
}

namespace internal {

Mutation MutatePodView(const Config& config, const PodView& view, std::string_view ns,
                       const ServiceAccountLookup* service_accounts) {
  Mutation m;
  m.outcome = Outcome::kSkipped;
  if (LabelsView(view.labels).Find(config.keys.skip_pod_label)) {
    m.reason = "pod has the " + config.keys.skip_pod_label + " label";
    return m;
  }
  std::optional<ServiceAccountInfo> found;
  if (service_accounts != nullptr) found = service_accounts->Find(ns, view.service_account);
  const ServiceAccountInfo* service_account = found ? &*found : nullptr;
  const std::optional<RoleChoice> role = ResolveRole(config, view, ns, service_account, m);
  if (!role) return m;
  m.role_arn = role->role_arn;
  if (role->binding != nullptr) m.binding = role->binding->name;

  if (view.token_volume == TokenVolume::kForeign) {
    m.warnings.Add("pod already has a volume named " + std::string(kTokenVolumeName) +
                   " that is not a projected service account token; no credentials injected");
    m.reason = "conflicting " + std::string(kTokenVolumeName) + " volume";
    return m;
  }

  const TokenSettings settings = ResolveSettings(config, view, service_account);
  const std::vector<std::string_view> skipped = SkippedContainers(view, config.keys);
  const std::string_view mount_dir = TrimTrailingSlashes(config.token_mount_path);
  // The operations' JSON is the same for every container (but the token file of a container
  // that already mounts the token elsewhere): written on first use, then shared.
  const auto once = [](std::string& text, const auto& write) -> std::string_view {
    if (text.empty()) text = write();
    return text;
  };
  std::string mount_text, sts_env, default_region_env, region_env, role_env, default_token_env,
      session_env;
  std::string own_token_env;  // for a container with its own token mount
  // The env vars one container gets (at most kMaxInjectedEnvVars), in order.
  std::array<std::string_view, kMaxInjectedEnvVars> env_storage;
  std::size_t env_count = 0;
  // Each injected name is added at most once per container; at() guards a seventh.
  const auto add_env = [&](std::string_view text) { env_storage.at(env_count++) = text; };
  // Built once per process (every pod has the same ones).
  static const JsonPointer kInitContainers = JsonPointer().Child("spec").Child("initContainers");
  static const JsonPointer kContainers = JsonPointer().Child("spec").Child("containers");

  // The volume comes first; the patch is dropped below if no container is eligible.
  if (view.token_volume == TokenVolume::kAbsent) {
    const std::string volume = TokenVolumeSource(settings);
    const std::string_view volumes[] = {volume};
    m.patch.Reserve(kPatchBytesPerPod + view.containers.size() * kPatchBytesPerContainer);
    AppendAll(m.patch, JsonPointer(), "spec", "volumes", view.has_volume_list, volumes);
  }
  std::size_t eligible = 0;
  for (const ContainerView& c : view.containers) {
    if (std::find(skipped.begin(), skipped.end(), c.name) != skipped.end()) continue;
    if (role->binding != nullptr && !role->binding->AllowsContainer(c.name)) continue;

    // Where the token is mounted in this container, or a reason to leave it alone.
    std::optional<std::string_view> existing_mount;
    bool path_taken = false;
    for (const auto& mv : c.mounts) {
      if (mv.name == kTokenVolumeName) {
        existing_mount = mv.mount_path;
        break;
      }
      if (TrimTrailingSlashes(mv.mount_path) == mount_dir) path_taken = true;
    }
    if (!existing_mount && path_taken) {
      m.warnings.Add("container " + Quote(c.name) + " already mounts another volume at " +
                     std::string(mount_dir) + "; no credentials injected into it");
      continue;
    }
    ++eligible;

    env_count = 0;
    if (settings.sts_regional && !c.HasEnv(kEnvStsRegionalEndpoints)) {
      add_env(once(sts_env, [&] { return EnvVar(kEnvStsRegionalEndpoints, kStsRegionalValue); }));
    }
    if (!config.region.empty() && !c.HasEnv(kEnvDefaultRegion) && !c.HasEnv(kEnvRegion)) {
      add_env(once(default_region_env, [&] { return EnvVar(kEnvDefaultRegion, config.region); }));
      add_env(once(region_env, [&] { return EnvVar(kEnvRegion, config.region); }));
    }
    if (!c.HasEnv(kEnvRoleArn) && !c.HasEnv(kEnvWebIdentityTokenFile)) {
      add_env(once(role_env, [&] { return EnvVar(kEnvRoleArn, role->role_arn); }));
      if (existing_mount) {
        own_token_env =
            EnvVar(kEnvWebIdentityTokenFile, TokenFilePath(*existing_mount, view.windows));
        add_env(own_token_env);
      } else {
        add_env(once(default_token_env, [&] {
          return EnvVar(kEnvWebIdentityTokenFile, TokenFilePath(mount_dir, view.windows));
        }));
      }
    }
    if (config.role_session_name && !c.HasEnv(kEnvRoleSessionName))
      add_env(once(session_env, RoleSessionNameEnv));
    const std::span<const std::string_view> env(env_storage.data(), env_count);
    if (!env.empty() || !existing_mount) {
      if (m.patch.empty())
        m.patch.Reserve(kPatchBytesPerPod + view.containers.size() * kPatchBytesPerContainer);
      const JsonPointer& list = c.init ? kInitContainers : kContainers;
      char digits[24];
      const std::string_view index(
          digits, static_cast<std::size_t>(
                      std::to_chars(std::begin(digits), std::end(digits), c.index).ptr - digits));
      AppendAll(m.patch, list, index, "env", c.has_env_list, env);
      if (!existing_mount) {
        const std::string_view mount[] = {once(mount_text, [&] { return TokenMount(mount_dir); })};
        AppendAll(m.patch, list, index, "volumeMounts", c.has_mount_list, mount);
      }
    }
    if (c.HasEnv(kEnvAccessKeyId)) {
      m.warnings.Add("container " + Quote(c.name) + " sets " + std::string(kEnvAccessKeyId) +
                     ": AWS SDKs use these static keys before the injected role");
    }
  }

  if (eligible == 0) {
    m.patch = JsonPatch();
    m.reason = "no eligible container";
    return m;
  }
  m.outcome = m.patch.empty() ? Outcome::kUnchanged : Outcome::kMutated;
  m.reason = m.patch.empty() ? "already injected" : "injected";
  return m;
}

}  // namespace internal
}  // namespace irsa
