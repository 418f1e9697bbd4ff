#include "serve.h"

#include <csignal>

#include "config_store.h"
#include "file_watcher.h"
#include "metrics.h"
#include "shutdown_signal.h"

namespace irsa::server {
namespace {

using Clock = std::chrono::steady_clock;

// Metrics keep answering at least this long after the webhook port drained, so a last scrape
// and the kubelet's probes see the shutdown.
constexpr std::chrono::seconds kMinMetricsStopWait{1};
// How often the drain loop looks for a second signal.
constexpr std::chrono::milliseconds kDrainSliceMs{100};

const char* SignalName(int signo) {
  return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "signal";
}

// Everything the serving threads touch.
struct Runtime {
  Runtime(const ServeOptions& options, const KubernetesAccess& kubernetes,
          std::shared_ptr<Logger> log)
      : logger(std::move(log)),
        config(options.config_file),
        tls(options.tls, options.tls_min_version),
        metrics(options.version),
        server(options.listener, tls, config, kubernetes.lookup, kubernetes.synced, metrics,
               *logger) {}

  std::shared_ptr<Logger> logger;
  ConfigStore config;
  TlsCredentials tls;
  Metrics metrics;
  WebhookServer server;
};

void LogLint(Logger& logger, const ConfigStore& config) {
  for (const auto& advice : config.lint())
    logger.Warn("config advice", {{"file", config.path()}, {"advice", advice}});
}

void ReloadConfig(Runtime& rt) {
  const Status status = rt.config.Reload();
  if (status.ok()) {
    rt.metrics.CountConfigReload(ReloadResult::kSuccess);
    rt.logger->Info("config reloaded", {{"file", rt.config.path()},
                                        {"bindings", rt.config.Current()->bindings.size()}});
    LogLint(*rt.logger, rt.config);
  } else {
    rt.metrics.CountConfigReload(ReloadResult::kError);
    rt.logger->Error("config reload failed; keeping the previous config",
                     {{"file", rt.config.path()}, {"error", status.message()}});
  }
}

void ReloadTls(Runtime& rt) {
  const Status status = rt.tls.Reload();
  if (status.ok()) {
    rt.metrics.CountTlsReload(ReloadResult::kSuccess);
    rt.logger->Info("certificate reloaded",
                    {{"cert_file", rt.tls.files().cert_file}, {"certificate", rt.tls.Describe()}});
  } else {
    rt.metrics.CountTlsReload(ReloadResult::kError);
    rt.logger->Error("certificate reload failed; keeping the previous certificate",
                     {{"cert_file", rt.tls.files().cert_file}, {"error", status.message()}});
  }
}

}  // namespace

Result<ServeOutcome> Serve(const ServeOptions& options, const KubernetesAccess& kubernetes,
                           const std::shared_ptr<Logger>& logger, ShutdownSignal& signals) {
  auto runtime = std::make_unique<Runtime>(options, kubernetes, logger);
  Runtime& rt = *runtime;
  if (auto s = rt.config.Reload(); !s.ok()) return s;
  LogLint(*logger, rt.config);
  if (auto s = rt.tls.Reload(); !s.ok()) return s;
  if (auto s = rt.server.Bind(); !s.ok()) return s;
  rt.server.Start();

  logger->Info(
      "serving",
      {{"version", options.version},
       {"address", options.listener.bind_address},
       {"port", options.listener.port},
       {"metrics_port", options.listener.metrics_port},
       {"config",
        options.config_file.empty() ? std::string("(built-in defaults)") : options.config_file},
       {"bindings", rt.config.Current()->bindings.size()},
       {"tls_min_version", options.tls_min_version == TlsMinVersion::kTls13 ? "1.3" : "1.2"},
       {"client_ca",
        options.tls.client_ca_file.empty() ? std::string("(none)") : options.tls.client_ca_file},
       {"certificate", rt.tls.Describe()},
       {"kubernetes", kubernetes.mode}});

  FileWatcher watcher;
  if (!options.config_file.empty())
    watcher.Watch({options.config_file}, [&rt] { ReloadConfig(rt); });
  std::vector<std::string> tls_paths = {options.tls.cert_file, options.tls.key_file};
  if (!options.tls.client_ca_file.empty()) tls_paths.push_back(options.tls.client_ca_file);
  watcher.Watch(std::move(tls_paths), [&rt] { ReloadTls(rt); });

  std::optional<int> signo;
  while (!(signo = signals.Wait(options.watch_interval))) {
    logger->Flush();  // the batched per-request lines
    watcher.Poll();
    rt.server.Housekeeping();
    if (!rt.server.Healthy()) {
      logger->Error("a listener stopped unexpectedly; shutting down");
      break;
    }
  }

  // The delay: /readyz fails and answers close their connections while the webhook keeps
  // serving, so endpoints drop this pod before it stops accepting. A second signal ends it.
  logger->Info("shutting down",
               {{"signal", signo ? SignalName(*signo) : "listener failure"},
                {"delay_seconds", static_cast<std::int64_t>(options.shutdown_delay.count())},
                {"grace_seconds", static_cast<std::int64_t>(options.shutdown_grace.count())},
                {"open_connections", rt.server.open_connections()}});
  rt.server.BeginShutdown();
  bool interrupted = false;
  const auto delay_end = Clock::now() + options.shutdown_delay;
  while (signo && Clock::now() < delay_end) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(delay_end - Clock::now());
    if (signals.Wait(std::min<std::chrono::milliseconds>(left, options.watch_interval))) {
      logger->Warn("second signal: ending the shutdown delay and the drain at once");
      interrupted = true;
      break;
    }
    logger->Flush();
    watcher.Poll();
    rt.server.Housekeeping();
  }

  const auto deadline = interrupted ? Clock::now() : Clock::now() + options.shutdown_grace;
  rt.server.BeginDrain();
  bool drained = false;
  while (
      !(drained = rt.server.WaitWebhookDrained(std::min(deadline, Clock::now() + kDrainSliceMs)))) {
    logger->Flush();
    if (Clock::now() >= deadline) break;
    if (signals.Wait(std::chrono::milliseconds(0))) {
      interrupted = true;
      break;
    }
  }
  if (!drained) {
    logger->Warn(interrupted ? "second signal: closing the connections still open"
                             : "grace period over: closing the connections still open",
                 {{"open_connections", rt.server.open_connections()}});
  }
  rt.server.StopMetrics(std::max(deadline, Clock::now() + kMinMetricsStopWait));
  logger->Info("stopped", {{"drained", drained}});
  logger->Flush();
  runtime.reset();
  if (!signo) return Status::Error("a listener stopped unexpectedly (see the log)");
  return ServeOutcome{drained};
}

}  // namespace irsa::server
