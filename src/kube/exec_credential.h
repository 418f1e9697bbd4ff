// Kubernetes exec credential plugins (kubeconfig `users[].user.exec`, e.g. `aws eks get-token`):
// the client.authentication.k8s.io ExecCredential protocol, v1 and v1beta1.
//
// Owns: running the plugin command with its args and env (plus KUBERNETES_EXEC_INFO describing
// the request), reading its ExecCredential from stdout (status.token, status.expirationTimestamp),
// and turning every failure (command missing, non-zero exit with the tail of its stderr, a
// timeout, bad JSON, a wrong apiVersion, no token) into one line an admin can act on.
// Never: gives the plugin a terminal (stdin is /dev/null: irsa-webhook never runs interactively,
// so `interactiveMode: Always` is refused when the kubeconfig is read), logs or keeps a token
// (TokenSource caches it), or runs the plugin through a shell.
// Thread-safety: plain values and functions; RunExecPlugin may be called from any thread (it
// uses posix_spawn, safe in a multi-threaded process).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "irsa/status.h"

namespace irsa::kube {

// The two ExecCredential versions accepted (v1alpha1 was removed from Kubernetes in 1.24).
inline constexpr std::string_view kExecCredentialV1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view kExecCredentialV1beta1 = "client.authentication.k8s.io/v1beta1";
// Environment variable carrying the ExecCredential request (spec.interactive, spec.cluster).
inline constexpr std::string_view kExecInfoEnv = "KUBERNETES_EXEC_INFO";
// interactiveMode values of the kubeconfig's exec section.
inline constexpr std::string_view kInteractiveNever = "Never";
inline constexpr std::string_view kInteractiveIfAvailable = "IfAvailable";
inline constexpr std::string_view kInteractiveAlways = "Always";
// Longest a plugin may run; `aws eks get-token` takes about a second, a hung one must not hang
// reconcile, check or serve's cache for ever.
inline constexpr std::chrono::seconds kExecPluginTimeout{60};
// Most of a plugin's stdout read (an ExecCredential is a few KiB).
inline constexpr std::size_t kMaxExecStdoutBytes = std::size_t{1024} * 1024;
// Characters of the plugin's stderr quoted in an error (its last ones: where the reason is).
inline constexpr std::size_t kExecStderrTailChars = 400;
// A token is replaced this long before its expirationTimestamp, so no request carries a token
// that expires in flight.
inline constexpr std::chrono::seconds kExecRefreshBeforeExpiry{30};

struct ExecPluginConfig {
  std::string api_version;  // kExecCredentialV1 or kExecCredentialV1beta1
  std::string command;      // resolved against the kubeconfig's directory when it has a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to this process's environment
  std::string interactive_mode;                          // Never or IfAvailable
  std::string install_hint;                              // printed when the command is missing
  // spec.cluster of KUBERNETES_EXEC_INFO (server, certificate-authority-data, ...) when the
  // kubeconfig sets provideClusterInfo; null otherwise.
  nlohmann::json cluster_info;
  std::string source;  // for messages: "kubeconfig F: user U: exec"
};

struct ExecCredential {
  std::string token;
  // nullopt: the plugin gave no expiry, the token is used until the API server refuses it.
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

// Reads a kubeconfig's `exec` mapping. `where` prefixes errors ("kubeconfig F: user \"u\": ").
Result<ExecPluginConfig> ParseExecPluginConfig(const nlohmann::json& exec, std::string_view where,
                                               std::string_view base_dir);

// The value of KUBERNETES_EXEC_INFO for this plugin (never interactive).
std::string ExecInfo(const ExecPluginConfig& config);

// Parses a plugin's stdout: an ExecCredential of the configured apiVersion with a token.
Result<ExecCredential> ParseExecCredential(std::string_view output, const ExecPluginConfig& config);

// Runs the plugin once and parses what it printed.
Result<ExecCredential> RunExecPlugin(const ExecPluginConfig& config);

}  // namespace irsa::kube
