#include "kube/kube_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "irsa/document.h"
#include "irsa/text.h"

namespace irsa::kube {
namespace {

using nlohmann::json;

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string ResolvePath(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// A named entry of one of the kubeconfig lists (clusters, users, contexts): entry[field].
Result<const json*> FindNamed(const json& document, std::string_view list, std::string_view field,
                              std::string_view name, std::string_view source) {
  const auto items = document.find(list);
  if (items == document.end() || !items->is_array()) {
    return Status::Error(std::string(source) + ": " + std::string(list) +
                         ": missing (looking for " + Quote(name) + ")");
  }
  for (const auto& item : *items) {
    if (!item.is_object()) continue;
    const auto n = item.find("name");
    if (n == item.end() || !n->is_string() || n->get_ref<const std::string&>() != name) continue;
    const auto value = item.find(field);
    if (value == item.end() || !value->is_object()) {
      return Status::Error(std::string(source) + ": " + std::string(list) + " " + Quote(name) +
                           ": " + std::string(field) + ": must be a mapping");
    }
    return &*value;
  }
  return Status::Error(std::string(source) + ": " + std::string(list) + ": no entry named " +
                       Quote(name));
}

Result<std::string> StringField(const json& object, std::string_view key, std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return Status::Error(std::string(where) + std::string(key) + ": must be a string");
  return it->get<std::string>();
}

// "-data" fields hold base64 of PEM text.
Result<std::string> DataField(const json& object, std::string_view key, std::string_view where) {
  std::string encoded;
  IRSA_ASSIGN_OR_RETURN(encoded, StringField(object, key, where));
  if (encoded.empty()) return encoded;
  auto decoded = Base64Decode(encoded);
  if (!decoded) return Status::Error(std::string(where) + std::string(key) + ": not valid base64");
  return std::move(*decoded);
}

Result<std::string> ReadPemFile(const std::string& path, std::string_view what) {
  auto text = ReadFileText(path);
  if (!text.ok()) return Status::Error(std::string(what) + ": " + text.error());
  return std::move(text).value();
}

std::string Getenv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

Result<KubeConfig> ParseKubeConfig(const json& document, std::string_view source,
                                   std::string_view base_dir, std::string_view context) {
  if (!document.is_object())
    return Status::Error(std::string(source) + ": a kubeconfig must be a mapping");
  std::string context_name(context);
  if (context_name.empty()) {
    IRSA_ASSIGN_OR_RETURN(context_name,
                          StringField(document, "current-context", std::string(source) + ": "));
    if (context_name.empty()) {
      return Status::Error(std::string(source) +
                           ": current-context is not set (kubectl config use-context NAME)");
    }
  }
  const json* ctx = nullptr;
  IRSA_ASSIGN_OR_RETURN(ctx, FindNamed(document, "contexts", "context", context_name, source));
  const std::string ctx_where = std::string(source) + ": context " + Quote(context_name) + ": ";
  std::string cluster_name, user_name;
  KubeConfig config;
  IRSA_ASSIGN_OR_RETURN(cluster_name, StringField(*ctx, "cluster", ctx_where));
  IRSA_ASSIGN_OR_RETURN(user_name, StringField(*ctx, "user", ctx_where));
  IRSA_ASSIGN_OR_RETURN(config.ns, StringField(*ctx, "namespace", ctx_where));
  if (cluster_name.empty()) return Status::Error(ctx_where + "cluster: required");
  config.source = "kubeconfig " + std::string(source) + " (context " + Quote(context_name) + ")";

  const json* cluster = nullptr;
  IRSA_ASSIGN_OR_RETURN(cluster, FindNamed(document, "clusters", "cluster", cluster_name, source));
  const std::string cl_where = std::string(source) + ": cluster " + Quote(cluster_name) + ": ";
  IRSA_ASSIGN_OR_RETURN(config.server, StringField(*cluster, "server", cl_where));
  if (config.server.empty()) return Status::Error(cl_where + "server: required");
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return Status::Error(cl_where + "server: " + Quote(config.server) +
                         " must start with https:// or http://");
  }
  std::string ca_path;
  IRSA_ASSIGN_OR_RETURN(ca_path, StringField(*cluster, "certificate-authority", cl_where));
  config.ca_file = ResolvePath(base_dir, ca_path);
  IRSA_ASSIGN_OR_RETURN(config.ca_data,
                        DataField(*cluster, "certificate-authority-data", cl_where));
  if (const auto insecure = cluster->find("insecure-skip-tls-verify");
      insecure != cluster->end() && !insecure->is_null()) {
    if (!insecure->is_boolean())
      return Status::Error(cl_where + "insecure-skip-tls-verify: must be true or false");
    config.insecure_skip_tls_verify = insecure->get<bool>();
  }
  if (config.insecure_skip_tls_verify && (!config.ca_file.empty() || !config.ca_data.empty())) {
    // kubectl refuses this combination too: trusting a CA and skipping verification contradict.
    return Status::Error(
        cl_where + "insecure-skip-tls-verify cannot be combined with a certificate authority");
  }
  if (!config.ca_file.empty() && !FileExists(config.ca_file)) {
    return Status::Error(cl_where + "certificate-authority: " + config.ca_file + ": no such file");
  }

  if (user_name.empty()) return config;  // anonymous: allowed, the API server decides
  const json* user = nullptr;
  IRSA_ASSIGN_OR_RETURN(user, FindNamed(document, "users", "user", user_name, source));
  const std::string us_where = std::string(source) + ": user " + Quote(user_name) + ": ";
  if (user->contains("auth-provider")) {
    return Status::Error(
        us_where +
        "uses an auth-provider plugin, which Kubernetes removed in 1.26 and irsa-webhook does not "
        "run; use an exec credential plugin (e.g. aws eks get-token, kubelogin), a token or a "
        "client certificate");
  }
  if (user->contains("username") || user->contains("password")) {
    return Status::Error(us_where +
                         "basic authentication (username/password) is not supported by Kubernetes "
                         "since 1.19; use a token or a client certificate");
  }
  IRSA_ASSIGN_OR_RETURN(config.token, StringField(*user, "token", us_where));
  std::string token_file;
  IRSA_ASSIGN_OR_RETURN(token_file, StringField(*user, "tokenFile", us_where));
  config.token_file = ResolvePath(base_dir, token_file);
  // As client-go: a tokenFile is re-read and takes precedence over a static token.
  if (!config.token_file.empty()) config.token.clear();
  if (!config.token_file.empty() && !FileExists(config.token_file)) {
    return Status::Error(us_where + "tokenFile: " + config.token_file + ": no such file");
  }

  if (const auto exec = user->find("exec"); exec != user->end() && !exec->is_null()) {
    ExecPluginConfig plugin;
    IRSA_ASSIGN_OR_RETURN(plugin, ParseExecPluginConfig(*exec, us_where, base_dir));
    plugin.source = config.source + ": user " + Quote(user_name);
    if (plugin.cluster_info.is_object()) {
      // spec.cluster of KUBERNETES_EXEC_INFO: the cluster as the plugin would need to reach it.
      std::string ca = config.ca_data;
      if (ca.empty() && !config.ca_file.empty()) {
        IRSA_ASSIGN_OR_RETURN(ca, ReadPemFile(config.ca_file, cl_where + "certificate-authority"));
      }
      plugin.cluster_info["server"] = config.server;
      if (!ca.empty()) plugin.cluster_info["certificate-authority-data"] = Base64Encode(ca);
      if (config.insecure_skip_tls_verify) plugin.cluster_info["insecure-skip-tls-verify"] = true;
    }
    // As kubectl: a token in the kubeconfig is used as is; the plugin only runs without one.
    if (config.token.empty() && config.token_file.empty()) config.exec = std::move(plugin);
  }

  std::string cert_path, key_path;
  IRSA_ASSIGN_OR_RETURN(cert_path, StringField(*user, "client-certificate", us_where));
  IRSA_ASSIGN_OR_RETURN(key_path, StringField(*user, "client-key", us_where));
  IRSA_ASSIGN_OR_RETURN(config.client_cert_pem,
                        DataField(*user, "client-certificate-data", us_where));
  IRSA_ASSIGN_OR_RETURN(config.client_key_pem, DataField(*user, "client-key-data", us_where));
  if (config.client_cert_pem.empty() && !cert_path.empty()) {
    IRSA_ASSIGN_OR_RETURN(config.client_cert_pem, ReadPemFile(ResolvePath(base_dir, cert_path),
                                                              us_where + "client-certificate"));
  }
  if (config.client_key_pem.empty() && !key_path.empty()) {
    IRSA_ASSIGN_OR_RETURN(config.client_key_pem,
                          ReadPemFile(ResolvePath(base_dir, key_path), us_where + "client-key"));
  }
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return Status::Error(
        us_where +
        "a client certificate needs its key (client-certificate and client-key go together)");
  }
  return config;
}

Result<KubeConfig> LoadKubeConfigFile(const std::string& path, std::string_view context) {
  json document;
  IRSA_ASSIGN_OR_RETURN(document, LoadDocumentFile(path));
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseKubeConfig(document, path, base_dir, context);
}

bool InClusterAvailable(const std::string& root) {
  return !Getenv(kServiceHostEnv).empty() && FileExists(root + "/token");
}

Result<KubeConfig> InClusterConfig(const std::string& root) {
  const std::string host = Getenv(kServiceHostEnv);
  const std::string port = Getenv(kServicePortEnv).empty() ? "443" : Getenv(kServicePortEnv);
  if (host.empty()) {
    return Status::Error("in-cluster config: " + std::string(kServiceHostEnv) +
                         " is not set (not running in a pod?)");
  }
  KubeConfig config;
  // An IPv6 service address needs brackets in a URL.
  config.server =
      "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  config.token_file = root + "/token";
  if (!FileExists(config.token_file)) {
    return Status::Error("in-cluster config: " + config.token_file +
                         ": no such file (is automountServiceAccountToken false for this pod?)");
  }
  config.ca_file = root + "/ca.crt";
  if (!FileExists(config.ca_file))
    return Status::Error("in-cluster config: " + config.ca_file + ": no such file");
  if (auto ns = ReadFileText(root + "/namespace"); ns.ok()) {
    config.ns = std::string(Trim(*ns));
  }
  config.source = "in-cluster (" + host + ":" + port + ")";
  return config;
}

Result<std::optional<KubeConfig>> ResolveKubeConfig(const std::string& kubeconfig_flag,
                                                    const std::string& in_cluster_root) {
  if (!kubeconfig_flag.empty()) {
    KubeConfig config;
    IRSA_ASSIGN_OR_RETURN(config, LoadKubeConfigFile(kubeconfig_flag));
    return std::optional<KubeConfig>(std::move(config));
  }
  if (!InClusterAvailable(in_cluster_root)) return std::optional<KubeConfig>();
  KubeConfig config;
  IRSA_ASSIGN_OR_RETURN(config, InClusterConfig(in_cluster_root));
  return std::optional<KubeConfig>(std::move(config));
}

Result<KubeConfig> ResolveKubeConfigForCli(const std::string& kubeconfig_flag,
                                           const std::string& in_cluster_root) {
  std::optional<KubeConfig> resolved;
  IRSA_ASSIGN_OR_RETURN(resolved, ResolveKubeConfig(kubeconfig_flag, in_cluster_root));
  if (resolved) return std::move(*resolved);
  std::string tried;
  const std::string env = Getenv("KUBECONFIG");
  std::size_t start = 0;
  while (start <= env.size() && !env.empty()) {
    const std::size_t colon = env.find(':', start);
    const std::string entry =
        env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!entry.empty()) {
      if (FileExists(entry)) return LoadKubeConfigFile(entry);
      tried += (tried.empty() ? "" : ", ") + entry;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (const std::string home = Getenv("HOME"); !home.empty()) {
    const std::string path = home + "/.kube/config";
    if (FileExists(path)) return LoadKubeConfigFile(path);
    tried += (tried.empty() ? "" : ", ") + path;
  }
  return Status::Error("no Kubernetes access: pass --kubeconfig FILE (not in a pod; tried " +
                       (tried.empty() ? std::string("nothing") : tried) + ")");
}

}  // namespace irsa::kube
