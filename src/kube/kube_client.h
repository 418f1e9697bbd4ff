// A small client for the Kubernetes REST API on cpp-httplib + OpenSSL: GET, paginated LIST,
// WATCH (a chunked stream of JSON events), merge and strategic-merge PATCH, and POST (create;
// `check` sends it only with dryRun=All).
//
// Owns: TLS setup from a KubeConfig (trust only the configured CA when there is one; client
// certificates; insecure-skip-tls-verify), the bearer token (through TokenSource: re-read, or
// from an exec plugin, dropped when the API server answers 401), a
// timeout on every call, and turning a failed call into a Status: its code from the HTTP status
// (StatusCode::kNotFound for 404, kGone for 410...; kUnavailable when no answer came), its
// message naming the method, the path, the HTTP status and the Kubernetes Status object's message.
// Never: retries (callers decide: the cache backs off, reconcile reports), logs, or exposes
// httplib or OpenSSL types (the core must never see them; this header neither).
// Thread-safety: all methods are const and may be called from any number of threads: each call
// uses its own connection. A CancelToken may be cancelled from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "irsa/log_level.h"
#include "irsa/status.h"
#include "kube/kube_config.h"
#include "kube/token_source.h"

namespace irsa::kube {

// Default bound of one request (connect, send and receive each).
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{10000};
// Items per LIST page: large enough for few round trips, small enough to bound one response.
inline constexpr int kDefaultListPageSize = 500;
// Longest JSON line accepted in a WATCH stream (one object); Kubernetes caps objects at ~1.5 MiB.
inline constexpr std::size_t kMaxWatchLineBytes = std::size_t{16} * 1024 * 1024;

// Query parameter of a write the API server must run through admission and validation without
// persisting anything (server-side dry run).
inline constexpr std::string_view kDryRunAll = "dryRun=All";

// Events worth reporting from the Kubernetes code; the server routes them into its logger.
using LogFunction = std::function<void(LogLevel, std::string_view)>;

struct Done {};  // the value of calls that return nothing

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json (what kubectl rollout restart sends)
  kApply,  // application/apply-patch+yaml: server-side apply, creates a missing object (the
           // path needs ?fieldManager=...)
};

// Stops a WATCH in flight from another thread (Stop() of the cache).
class CancelToken {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class KubeClient;
  // Registers the interrupt of the call in flight; false when already cancelled.
  bool Register(std::function<void()> interrupt);
  void Unregister();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::function<void()> interrupt_;
};

struct ListOptions {
  int page_size = kDefaultListPageSize;
  std::string label_selector;
  std::chrono::milliseconds timeout = kDefaultRequestTimeout;  // per page
};

struct WatchOptions {
  std::string resource_version;  // start after this version ("" = server's choice)
  bool allow_bookmarks = true;   // BOOKMARK events keep resource_version fresh
  int timeout_seconds = 300;     // the server ends the stream after this long
  // No byte for this long ends the call with an error: a dead connection is not waited on forever.
  std::chrono::seconds idle_timeout{360};
};

class KubeClient {
 public:
  // Checks the server URL and parses client certificates; no connection is made. OpenSSL writes to
  // sockets a peer may have closed, so the process must ignore SIGPIPE: irsa-webhook's main and
  // the test binaries' main do (src/cli/process_setup.h); this library changes no process state.
  static Result<std::unique_ptr<KubeClient>> Create(const KubeConfig& config);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // `path` is an API path with optional query, e.g. "/api/v1/namespaces/x/serviceaccounts/y".
  // `cancel`, when given, interrupts the call from another thread.
  Result<nlohmann::json> Get(std::string_view path,
                             std::chrono::milliseconds timeout = kDefaultRequestTimeout,
                             CancelToken* cancel = nullptr) const;

  // Lists a collection page by page (limit/continue), calling `on_item` for each item in order.
  // Returns the collection's resourceVersion (where a WATCH continues).
  Result<std::string> List(std::string_view path,
                           const std::function<void(nlohmann::json&& item)>& on_item,
                           const ListOptions& options = {}, CancelToken* cancel = nullptr) const;

  // Streams watch events ({"type": ..., "object": ...}) to `on_event` until the server ends the
  // stream (ok), `on_event` returns false (ok), `cancel` is cancelled, or an error.
  Result<Done> Watch(std::string_view path, const WatchOptions& options,
                     const std::function<bool(nlohmann::json&& event)>& on_event,
                     CancelToken* cancel = nullptr) const;

  Result<nlohmann::json> Patch(std::string_view path, const nlohmann::json& body, PatchType type,
                               std::chrono::milliseconds timeout = kDefaultRequestTimeout) const;

  // POSTs `body` to a collection path (create). With "?dryRun=All" in `path` nothing is
  // persisted and the answer is the object as admission left it.
  Result<nlohmann::json> Create(std::string_view path, const nlohmann::json& body,
                                std::chrono::milliseconds timeout = kDefaultRequestTimeout) const;

  const KubeConfig& config() const { return config_; }
  // The credentials in use (tests count exec plugin runs through it).
  const TokenSource& token_source() const { return token_; }

 private:
  struct Endpoint;
  struct Call;
  KubeClient(KubeConfig config, std::unique_ptr<Endpoint> endpoint);

  Result<Call> NewCall(std::chrono::milliseconds timeout) const;
  // Drops a refused token (401) so that the next call fetches a new one.
  void NoteStatus(const Call& call, int http_status) const;
  Result<nlohmann::json> Send(std::string_view method, std::string_view path,
                              const nlohmann::json& body, const char* content_type,
                              std::chrono::milliseconds timeout) const;

  KubeConfig config_;
  std::unique_ptr<Endpoint> endpoint_;
  TokenSource token_;
};

// Percent-encodes a query parameter value (continue tokens, selectors).
std::string QueryEscape(std::string_view value);

// Path helpers: "/api/v1" for the core group, "/apis/<group>/<version>" otherwise.
// ns empty = cluster-wide (or a cluster-scoped resource); name empty = the collection.
std::string ResourcePath(std::string_view group_version, std::string_view resource,
                         std::string_view ns = "", std::string_view name = "");

}  // namespace irsa::kube
