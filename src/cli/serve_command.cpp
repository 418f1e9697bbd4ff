#include "serve_command.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iostream>

#include "flags.h"
#include "irsa/config.h"
#include "irsa/constants.h"
#include "irsa/text.h"
#include "kube/kube_config.h"
#include "kube/service_account_cache.h"
#include "server/serve.h"
#include "server/shutdown_signal.h"

namespace irsa::cli {
namespace {

// Defaults of docs/reference.md section 2.
constexpr const char* kDefaultBindAddress = "0.0.0.0";
constexpr const char* kDefaultPort = "8443";
constexpr const char* kDefaultMetricsPort = "9090";
constexpr const char* kDefaultMaxRequestBytes = "8388608";
constexpr const char* kDefaultGraceSeconds = "10";
constexpr const char* kDefaultDelaySeconds = "5";
constexpr const char* kDefaultRequestReadTimeoutSeconds = "10";

Result<long long> ParseInteger(const std::string& flag, const std::string& text, long long min,
                               long long max) {
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    return Status::Error("--" + flag + " must be an integer from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not " + Quote(text));
  }
  return value;
}

Flags ServeFlags() {
  return Flags(
      "irsa-webhook serve --tls-cert-file FILE --tls-key-file FILE [--config FILE] [flags]\n\n"
      "Runs the HTTPS admission server: POST /mutate and GET /healthz on --port (TLS), GET "
      "/metrics,\n"
      "/healthz and /readyz on --metrics-port (plain HTTP). The config and the certificate files "
      "are\n"
      "reloaded when they change (Kubernetes ConfigMap/Secret updates included). On SIGTERM or "
      "SIGINT\n"
      "/readyz turns 503 while the server keeps serving for --shutdown-delay-seconds; then it "
      "stops\n"
      "accepting, finishes requests in flight within --shutdown-grace-seconds and exits 0.",
      {{"config", "", false, "FILE",
        "injection config (YAML or JSON); built-in defaults and no bindings when absent", ""},
       {"tls-cert-file", "", false, "FILE", "PEM certificate chain of the server (required)", ""},
       {"tls-key-file", "", false, "FILE", "PEM private key of the server (required)", ""},
       {"client-ca-file", "", false, "FILE",
        "require client certificates signed by these CAs (mTLS)", ""},
       {"tls-min-version", "", false, "VERSION", "1.2 or 1.3", "1.2"},
       {"bind-address", "", false, "ADDRESS", "address of both listeners", kDefaultBindAddress},
       {"port", "", false, "PORT", "HTTPS port", kDefaultPort},
       {"metrics-port", "", false, "PORT",
        "plain HTTP port for /metrics, /healthz, /readyz; 0 disables", kDefaultMetricsPort},
       {"kubeconfig", "", false, "FILE",
        "Kubernetes API access (else in-cluster config, else config-only)", ""},
       {"max-request-bytes", "", false, "BYTES", "larger request bodies get 413",
        kDefaultMaxRequestBytes},
       {"log-level", "", false, "LEVEL", "debug, info, warn or error", "info"},
       {"log-format", "", false, "FORMAT", "json (one object per line) or text", "json"},
       {"shutdown-delay-seconds", "", false, "SECONDS",
        "after SIGTERM/SIGINT, keep serving this long with /readyz failing (endpoints stop "
        "routing here)",
        kDefaultDelaySeconds},
       {"shutdown-grace-seconds", "", false, "SECONDS",
        "time to finish requests in flight after SIGTERM/SIGINT", kDefaultGraceSeconds},
       {"request-read-timeout-seconds", "", false, "SECONDS",
        "a request (or TLS handshake) must arrive within this time of its first byte; slower "
        "connections are closed",
        kDefaultRequestReadTimeoutSeconds}});
}

}  // namespace

CommandStatus RunServe(const std::vector<std::string>& args) {
  Flags flags = ServeFlags();
  if (auto done = ParseCommandLine(flags, args)) return *done;
  if (!flags.Has("tls-cert-file") || !flags.Has("tls-key-file")) {
    return CommandStatus::Usage("--tls-cert-file and --tls-key-file are required");
  }

  server::ServeOptions options;
  options.version = IRSA_VERSION;
  options.config_file = flags.Get("config");
  options.tls.cert_file = flags.Get("tls-cert-file");
  options.tls.key_file = flags.Get("tls-key-file");
  options.tls.client_ca_file = flags.Get("client-ca-file");
  options.listener.bind_address = flags.Get("bind-address");

  const auto min_version = server::ParseTlsMinVersion(flags.Get("tls-min-version"));
  if (!min_version.ok()) return CommandStatus::Usage(min_version.error());
  options.tls_min_version = *min_version;
  const auto format = server::ParseLogFormat(flags.Get("log-format"));
  if (!format.ok()) return CommandStatus::Usage(format.error());
  const auto level = server::ParseLogLevel(flags.Get("log-level"));
  if (!level.ok()) return CommandStatus::Usage(level.error());

  const auto port = ParseInteger("port", flags.Get("port"), 1, 65535);
  if (!port.ok()) return CommandStatus::Usage(port.error());
  const auto metrics_port = ParseInteger("metrics-port", flags.Get("metrics-port"), 0, 65535);
  if (!metrics_port.ok()) return CommandStatus::Usage(metrics_port.error());
  if (*metrics_port == *port) return CommandStatus::Usage("--metrics-port must differ from --port");
  const auto max_bytes =
      ParseInteger("max-request-bytes", flags.Get("max-request-bytes"), 1024, 1LL << 31);
  if (!max_bytes.ok()) return CommandStatus::Usage(max_bytes.error());
  const auto grace =
      ParseInteger("shutdown-grace-seconds", flags.Get("shutdown-grace-seconds"), 0, 3600);
  if (!grace.ok()) return CommandStatus::Usage(grace.error());
  const auto delay =
      ParseInteger("shutdown-delay-seconds", flags.Get("shutdown-delay-seconds"), 0, 3600);
  if (!delay.ok()) return CommandStatus::Usage(delay.error());
  const auto read_timeout = ParseInteger("request-read-timeout-seconds",
                                         flags.Get("request-read-timeout-seconds"), 1, 300);
  if (!read_timeout.ok()) return CommandStatus::Usage(read_timeout.error());
  options.listener.port = static_cast<int>(*port);
  options.listener.metrics_port = static_cast<int>(*metrics_port);
  options.listener.max_request_bytes = static_cast<std::size_t>(*max_bytes);
  options.listener.request_read_timeout = std::chrono::seconds(*read_timeout);
  options.shutdown_grace = std::chrono::seconds(*grace);
  options.shutdown_delay = std::chrono::seconds(*delay);

  auto logger = std::make_shared<server::Logger>(*format, *level);

  // SIGTERM and SIGINT become a shutdown request from here on, also while the ServiceAccount
  // cache starts: Serve() then drains at once. Installed here, in the binary, not by the server.
  server::ShutdownSignal signals;
  if (auto s = signals.Install(); !s.ok()) return CommandStatus::Runtime(s.message());

  // Kubernetes access (docs/reference.md section 7): --kubeconfig, else in-cluster config when this
  // runs in a pod, else config-only mode. The ServiceAccount cache answers the pod rules' lookups
  // (the role-arn annotation path, and the audience/STS/expiration annotations) and gates /readyz.
  auto kube_config = kube::ResolveKubeConfig(flags.Get("kubeconfig"));
  if (!kube_config.ok()) return CommandStatus::Runtime(kube_config.error());
  server::KubernetesAccess kubernetes;
  std::unique_ptr<kube::ServiceAccountCache> cache;
  if (kube_config->has_value()) {
    // The cache keeps only "<prefix>/" annotations, so it needs the prefix of the config it
    // starts with; a reload that changes annotationPrefix takes a restart (logged then).
    auto config = LoadConfigFlag(flags);
    if (!config.ok()) return CommandStatus::Runtime(config.error());
    auto created = kube::ServiceAccountCache::Create(
        **kube_config, config->annotation_prefix,
        [logger](LogLevel cache_level, std::string_view message) {
          logger->Log(cache_level, message, {{"component", "serviceaccount-cache"}});
        });
    if (!created.ok()) return CommandStatus::Runtime(created.error());
    cache = std::move(created).value();
    cache->Start();
    kubernetes.lookup = cache.get();
    kubernetes.synced = [c = cache.get()] { return c->synced(); };
    kubernetes.mode =
        "serviceaccount-cache " + (*kube_config)->server + " (" +
        (flags.Has("kubeconfig") ? flags.Get("kubeconfig") : std::string("in-cluster")) +
        ", annotation prefix " + config->annotation_prefix + ")";
  }

  auto outcome = server::Serve(options, kubernetes, logger, signals);
  if (!outcome.ok()) return CommandStatus::Runtime(outcome.error());
  // Serve() has joined every thread that could call the cache.
  if (cache) cache->Stop();
  return CommandStatus::Ok();
}

}  // namespace irsa::cli
