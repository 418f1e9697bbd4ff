// Where the Kubernetes API is and how to authenticate to it: kubeconfig files and in-cluster
// config (docs/reference.md section 7: "--kubeconfig, else in-cluster when present, else
// config-only").
//
// Owns: reading a kubeconfig (clusters/users/contexts, current-context; server,
// certificate-authority[-data], insecure-skip-tls-verify, token, tokenFile,
// client-certificate[-data], client-key[-data], exec credential plugins) and the in-cluster
// environment (KUBERNETES_SERVICE_HOST/PORT and the mounted ca.crt, token, namespace). Relative
// paths in a kubeconfig are relative to the file, as kubectl reads them. Never: opens a connection,
// or reads a token file once and keeps it (a token file is only remembered by path: the kubelet
// rotates it; TokenSource re-reads it). Thread-safety: plain values and stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "irsa/status.h"
#include "kube/exec_credential.h"

namespace irsa::kube {

// Where the kubelet mounts a pod's ServiceAccount credentials.
inline constexpr std::string_view kInClusterRoot = "/var/run/secrets/kubernetes.io/serviceaccount";
// Environment variables the kubelet sets in every pod for the API service.
inline constexpr std::string_view kServiceHostEnv = "KUBERNETES_SERVICE_HOST";
inline constexpr std::string_view kServicePortEnv = "KUBERNETES_SERVICE_PORT";

struct KubeConfig {
  std::string server;                     // "https://host:port[/path-prefix]"
  std::string ca_file;                    // PEM bundle to trust; re-read for each connection
  std::string ca_data;                    // PEM bundle to trust (certificate-authority-data)
  bool insecure_skip_tls_verify = false;  // never with a CA (kubectl refuses both)
  std::string token;                      // static bearer token
  std::string token_file;                 // bearer token re-read when it changes
  std::string client_cert_pem;            // client certificate (file contents or -data)
  std::string client_key_pem;             // its private key
  std::optional<ExecPluginConfig> exec;   // credential plugin giving the bearer token
  std::string ns;                         // namespace of the context or of the pod; may be empty
  std::string source;  // for messages: "kubeconfig F (context C)" or "in-cluster"
};

// Parses a kubeconfig document. `source` prefixes errors; `base_dir` resolves relative paths;
// `context` empty means current-context.
Result<KubeConfig> ParseKubeConfig(const nlohmann::json& document, std::string_view source,
                                   std::string_view base_dir, std::string_view context = "");
// Reads and parses a kubeconfig file (YAML or JSON).
Result<KubeConfig> LoadKubeConfigFile(const std::string& path, std::string_view context = "");

// True when this process runs in a pod: KUBERNETES_SERVICE_HOST is set and `root`/token exists.
bool InClusterAvailable(const std::string& root = std::string(kInClusterRoot));
// The in-cluster config; `root` is overridable for tests.
Result<KubeConfig> InClusterConfig(const std::string& root = std::string(kInClusterRoot));

// What `serve` uses: the --kubeconfig file if given, else in-cluster config when available, else
// nullopt (config-only mode: no Kubernetes access).
Result<std::optional<KubeConfig>> ResolveKubeConfig(
    const std::string& kubeconfig_flag,
    const std::string& in_cluster_root = std::string(kInClusterRoot));

// What an admin's command (reconcile) uses, like kubectl: --kubeconfig, else in-cluster, else the
// first existing file of $KUBECONFIG, else ~/.kube/config. An error when none exists.
Result<KubeConfig> ResolveKubeConfigForCli(
    const std::string& kubeconfig_flag,
    const std::string& in_cluster_root = std::string(kInClusterRoot));

}  // namespace irsa::kube
