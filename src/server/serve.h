// `irsa-webhook serve` as a library call: load config and certificates, serve until SIGTERM or
// SIGINT, reload files on change, drain on shutdown (docs/reference.md sections 2, 6, 7).
//
// Owns: the process-level order of things: waiting for the shutdown signal (the binary installs
// the handlers, src/cli/serve_command.cpp), first load (a startup error is
// returned, not served around), the housekeeping loop on the calling thread (file polling
// ~1/s, stalled-connection checks, listener health, the TLS self-probe) and the shutdown
// sequence: readiness off while still serving for the delay, then stop accepting, close idle
// connections, finish requests in flight within the grace period.
// Never: picks an exit code (the CLI's main does), or reaches the Kubernetes API itself: the
// composition root passes a ServiceAccountLookup and its readiness in (or nothing: config only).
// Thread-safety: call from one thread (normally main); it blocks until shutdown.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "irsa/service_account.h"
#include "irsa/status.h"
#include "logging.h"
#include "shutdown_signal.h"
#include "tls_credentials.h"
#include "webhook_server.h"

namespace irsa::server {

struct ServeOptions {
  std::string config_file;  // empty: built-in defaults, no bindings
  TlsFiles tls;
  TlsMinVersion tls_min_version = TlsMinVersion::kTls12;
  ListenerOptions listener;
  // On SIGTERM/SIGINT: keep serving this long with /readyz failing, then drain.
  std::chrono::seconds shutdown_delay{5};
  std::chrono::seconds shutdown_grace{10};
  std::chrono::milliseconds watch_interval{1000};  // file polling and housekeeping period
  std::string version;                             // irsa_webhook_build_info
};

// Kubernetes access handed in by the composition root. `lookup` null: config-only mode.
struct KubernetesAccess {
  const ServiceAccountLookup* lookup = nullptr;
  std::function<bool()> synced;      // /readyz waits for it; null = always synced
  std::string mode = "config-only";  // for the startup log line
};

struct ServeOutcome {
  // False when the grace period ended with connections still open (they were closed). Serve()
  // has joined every thread it started either way.
  bool drained = true;
};

// Serves until `signals` reports SIGTERM/SIGINT (the caller installed it: process-wide signal
// handling belongs to the binary). Returns an error for startup failures (bad config, bad
// certificate, port in use; the message names the file or address) and when a listener stops
// without being asked to.
Result<ServeOutcome> Serve(const ServeOptions& options, const KubernetesAccess& kubernetes,
                           const std::shared_ptr<Logger>& logger, ShutdownSignal& signals);

}  // namespace irsa::server
