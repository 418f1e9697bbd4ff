// The ServiceAccount cache of `serve` (docs/reference.md section 7): a list+watch mirror of the
// cluster's ServiceAccounts, so a Pod CREATE can read its SA's "<prefix>/" annotations without an
// API call.
//
// Owns: one background thread that lists (paginated) then watches from the list's
// resourceVersion with bookmarks; relists on 410 Gone (an HTTP 410 or an ERROR event with code
// 410); reconnects with exponential backoff and jitter (capped at ~30 s). The store keeps only
// what the rules read: name, namespace (interned: one string per namespace) and the "<prefix>/"
// annotations; an SA without them costs one hash-map node, and is still known to exist. On a
// miss, Find() does one GET with a short timeout; concurrent misses for the same SA share that
// GET, and its answer (found or not) is remembered briefly so a burst of pods for a missing SA
// does not hammer the API server.
// Never: writes to the API, logs on its own (events go to the LogFunction), or blocks Find() on
// the watch thread (readers take a shared lock; the relist builds a new store and swaps it in).
// Thread-safety: Find(), synced() and stats() from any thread; Start()/Stop() from one owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "irsa/service_account.h"
#include "irsa/status.h"
#include "kube/kube_client.h"

namespace irsa::kube {

struct ServiceAccountCacheOptions {
  // Bound of the GET on a cache miss: a pod admission waits at most about this long.
  std::chrono::milliseconds miss_timeout{1000};
  // How long a miss GET's answer (found or not found or failed) is reused.
  std::chrono::milliseconds miss_ttl{5000};
  // Most remembered miss answers; beyond it the oldest are forgotten.
  std::size_t max_remembered_misses = 10000;
  // Reconnect backoff: doubles from initial to max, each wait drawn in [d/2, d].
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // The server ends each watch after a random time in [watch_timeout, 2*watch_timeout), as
  // client-go does, so many webhook replicas do not reconnect in step.
  std::chrono::seconds watch_timeout{300};
  int list_page_size = kDefaultListPageSize;
};

class ServiceAccountCache final : public ServiceAccountLookup {
 public:
  struct Stats {
    std::size_t service_accounts = 0;  // known to exist
    std::size_t annotated = 0;         // with at least one "<prefix>/" annotation
    std::size_t namespaces = 0;
    std::uint64_t lists = 0;  // complete lists (the first one and every relist)
    std::uint64_t watch_events = 0;
    std::uint64_t miss_gets = 0;  // GETs sent on cache misses
  };

  // `annotation_prefix` is Config::annotation_prefix (e.g. "eks.amazonaws.com").
  ServiceAccountCache(std::shared_ptr<const KubeClient> client, std::string annotation_prefix,
                      LogFunction log, ServiceAccountCacheOptions options = {});
  // Convenience for the composition root.
  static Result<std::unique_ptr<ServiceAccountCache>> Create(
      const KubeConfig& config, std::string annotation_prefix, LogFunction log,
      ServiceAccountCacheOptions options = {});
  ~ServiceAccountCache() override;
  ServiceAccountCache(const ServiceAccountCache&) = delete;
  ServiceAccountCache& operator=(const ServiceAccountCache&) = delete;

  // Starts the list+watch thread. Once only.
  void Start();
  // Stops the thread and any call in flight; returns when it has ended. Idempotent.
  void Stop();
  // True once the first complete list is in (the readiness condition of /readyz); stays true
  // across reconnects (the store keeps serving its last state).
  bool synced() const { return synced_.load(std::memory_order_acquire); }

  std::optional<ServiceAccountInfo> Find(std::string_view ns, std::string_view name) const override;
  // The store's answer, or a miss GET's answer still remembered; `known` false when Find() would
  // send (or wait for) a GET.
  ImmediateLookup FindWithoutWaiting(std::string_view ns, std::string_view name) const override;
  // What the list+watch store holds, without a miss GET (tests and diagnostics).
  std::optional<ServiceAccountInfo> FindCached(std::string_view ns, std::string_view name) const;

  Stats stats() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Only "<prefix>/" annotations, sorted by key; most ServiceAccounts have none (nullptr).
  using Annotations = std::vector<std::pair<std::string, std::string>>;
  using Accounts = std::unordered_map<std::string, std::unique_ptr<const Annotations>, StringHash,
                                      std::equal_to<>>;
  struct Store {
    std::unordered_map<std::string, Accounts, StringHash, std::equal_to<>> namespaces;
    std::size_t size = 0;
    std::size_t annotated = 0;

    void Upsert(ServiceAccountInfo info);
    void Erase(std::string_view ns, std::string_view name);
  };
  struct Remembered {
    std::chrono::steady_clock::time_point expires;
    std::optional<ServiceAccountInfo> value;
  };

  void Run();
  // Lists everything into a new store and swaps it in; the list's resourceVersion.
  Result<std::string> Relist();
  // Watches from `resource_version` (updated as events arrive). True when a relist is needed.
  bool WatchOnce(std::string& resource_version, bool& progressed);
  void ApplyEvent(const nlohmann::json& event, std::string& resource_version, bool& gone);
  // Waits up to `delay` unless stopping; false when stopping.
  bool Sleep(std::chrono::milliseconds delay);
  std::chrono::milliseconds NextBackoff();
  // A miss GET's answer for `key` while it is remembered (an expired one is forgotten here);
  // the outer nullopt when there is none. Called with miss_mu_ held.
  std::optional<std::optional<ServiceAccountInfo>> RememberedAnswer(const std::string& key) const;
  std::optional<ServiceAccountInfo> FetchMiss(const std::string& key, std::string_view ns,
                                              std::string_view name) const;
  void Log(LogLevel level, const std::string& message) const;

  const std::shared_ptr<const KubeClient> client_;
  const std::string prefix_;
  const LogFunction log_;
  const ServiceAccountCacheOptions options_;

  mutable std::shared_mutex store_mu_;
  Store store_;
  std::atomic<bool> synced_{false};

  mutable std::mutex miss_mu_;
  mutable std::unordered_map<std::string, Remembered> remembered_;
  mutable std::unordered_map<std::string, std::shared_future<std::optional<ServiceAccountInfo>>>
      in_flight_;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;
  std::shared_ptr<CancelToken> cancel_;
  std::thread thread_;
  std::chrono::milliseconds backoff_{0};
  std::uint64_t random_state_;

  std::atomic<std::uint64_t> lists_{0};
  std::atomic<std::uint64_t> watch_events_{0};
  mutable std::atomic<std::uint64_t> miss_gets_{0};
};

}  // namespace irsa::kube
