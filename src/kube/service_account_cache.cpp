#include "kube/service_account_cache.h"

#include <algorithm>
#include <random>

namespace irsa::kube {
namespace {

using nlohmann::json;

// A watch that ends normally this fast without a single event counts as a failure for the
// backoff: otherwise a server that closes every watch at once would be polled in a hot loop.
constexpr std::chrono::seconds kMinHealthyWatch{1};

std::string Key(std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  key.append(ns).push_back('/');
  key.append(name);
  return key;
}

const json* Field(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringAt(const json& object, std::string_view a, std::string_view b) {
  const json* outer = Field(object, a);
  const json* inner = outer != nullptr ? Field(*outer, b) : nullptr;
  return inner != nullptr && inner->is_string() ? inner->get<std::string>() : std::string();
}

}  // namespace

// --- Store ---

void ServiceAccountCache::Store::Upsert(ServiceAccountInfo info) {
  std::unique_ptr<const Annotations> annotations;
  if (!info.annotations.empty()) {
    auto list = std::make_unique<Annotations>();
    list->reserve(info.annotations.size());
    for (auto& [key, value] : info.annotations) list->emplace_back(key, std::move(value));
    annotations = std::move(list);
  }
  auto ns_it = namespaces.find(info.ns);
  if (ns_it == namespaces.end()) ns_it = namespaces.emplace(std::move(info.ns), Accounts()).first;
  Accounts& accounts = ns_it->second;
  auto it = accounts.find(info.name);
  if (it == accounts.end()) {
    ++size;
    if (annotations) ++annotated;
    accounts.emplace(std::move(info.name), std::move(annotations));
    return;
  }
  if (it->second && !annotations) --annotated;
  if (!it->second && annotations) ++annotated;
  it->second = std::move(annotations);
}

void ServiceAccountCache::Store::Erase(std::string_view ns, std::string_view name) {
  const auto ns_it = namespaces.find(ns);
  if (ns_it == namespaces.end()) return;
  const auto it = ns_it->second.find(name);
  if (it == ns_it->second.end()) return;
  --size;
  if (it->second) --annotated;
  ns_it->second.erase(it);
  if (ns_it->second.empty()) namespaces.erase(ns_it);
}

// --- ServiceAccountCache ---

ServiceAccountCache::ServiceAccountCache(std::shared_ptr<const KubeClient> client,
                                         std::string annotation_prefix, LogFunction log,
                                         ServiceAccountCacheOptions options)
    : client_(std::move(client)),
      prefix_(std::move(annotation_prefix)),
      log_(std::move(log)),
      options_(options),
      random_state_(std::random_device{}()) {}

Result<std::unique_ptr<ServiceAccountCache>> ServiceAccountCache::Create(
    const KubeConfig& config, std::string annotation_prefix, LogFunction log,
    ServiceAccountCacheOptions options) {
  std::unique_ptr<KubeClient> client;
  IRSA_ASSIGN_OR_RETURN(client, KubeClient::Create(config));
  return std::make_unique<ServiceAccountCache>(std::shared_ptr<const KubeClient>(std::move(client)),
                                               std::move(annotation_prefix), std::move(log),
                                               options);
}

ServiceAccountCache::~ServiceAccountCache() { Stop(); }

void ServiceAccountCache::Start() {
  std::lock_guard<std::mutex> lock(run_mu_);
  if (thread_.joinable() || stopping_) return;
  cancel_ = std::make_shared<CancelToken>();
  thread_ = std::thread([this] { Run(); });
}

void ServiceAccountCache::Stop() {
  std::shared_ptr<CancelToken> cancel;
  {
    std::lock_guard<std::mutex> lock(run_mu_);
    stopping_ = true;
    cancel = cancel_;
  }
  run_cv_.notify_all();
  if (cancel) cancel->Cancel();
  if (thread_.joinable()) thread_.join();
}

void ServiceAccountCache::Log(LogLevel level, const std::string& message) const {
  if (log_) log_(level, message);
}

bool ServiceAccountCache::Sleep(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(run_mu_);
  return !run_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

std::chrono::milliseconds ServiceAccountCache::NextBackoff() {
  backoff_ = backoff_.count() == 0 ? options_.initial_backoff
                                   : std::min(backoff_ * 2, options_.max_backoff);
  // "Equal jitter": half fixed, half random, so replicas spread out but still back off.
  random_state_ = random_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const auto half = backoff_.count() / 2;
  const auto jitter =
      half > 0
          ? static_cast<long long>((random_state_ >> 33) % static_cast<std::uint64_t>(half + 1))
          : 0;
  return std::chrono::milliseconds(backoff_.count() - half + jitter);
}

void ServiceAccountCache::Run() {
  const std::string path = ResourcePath("v1", "serviceaccounts");
  while (true) {
    {
      std::lock_guard<std::mutex> lock(run_mu_);
      if (stopping_) return;
    }
    auto listed = Relist();
    if (!listed.ok()) {
      if (cancel_->cancelled()) return;
      const auto delay = NextBackoff();
      Log(LogLevel::kWarn, "ServiceAccount cache: list failed, retrying in " +
                               std::to_string(delay.count()) + " ms: " + listed.error());
      if (!Sleep(delay)) return;
      continue;
    }
    backoff_ = std::chrono::milliseconds(0);
    std::string resource_version = listed.value();
    // Watch until a relist is needed; transient errors reconnect from the last version seen.
    while (true) {
      bool progressed = false;
      const bool relist = WatchOnce(resource_version, progressed);
      if (cancel_->cancelled()) return;
      if (relist) break;
      if (progressed) {
        backoff_ = std::chrono::milliseconds(0);
        continue;
      }
      const auto delay = NextBackoff();
      Log(LogLevel::kDebug,
          "ServiceAccount cache: watch reconnect in " + std::to_string(delay.count()) + " ms");
      if (!Sleep(delay)) return;
    }
  }
}

Result<std::string> ServiceAccountCache::Relist() {
  Store fresh;
  std::size_t skipped = 0;
  ListOptions options;
  options.page_size = options_.list_page_size;
  auto listed = client_->List(
      ResourcePath("v1", "serviceaccounts"),
      [&](json&& item) {
        auto info = ReadServiceAccount(item, prefix_);
        if (!info.ok() || info->name.empty() || info->ns.empty()) {
          ++skipped;
          return;
        }
        fresh.Upsert(std::move(info).value());
      },
      options, cancel_.get());
  if (!listed.ok()) return listed;
  const std::size_t count = fresh.size;
  {
    std::unique_lock<std::shared_mutex> lock(store_mu_);
    std::swap(store_, fresh);
  }
  // The old store is freed here, outside the lock.
  fresh = Store();
  lists_.fetch_add(1);
  const bool first = !synced_.exchange(true, std::memory_order_acq_rel);
  Log(LogLevel::kInfo,
      std::string("ServiceAccount cache: ") + (first ? "synced" : "relisted") + ": " +
          std::to_string(count) + " ServiceAccounts at resourceVersion " + listed.value() +
          (skipped != 0 ? " (" + std::to_string(skipped) + " unreadable skipped)" : ""));
  return listed;
}

void ServiceAccountCache::ApplyEvent(const json& event, std::string& resource_version, bool& gone) {
  const json* type = Field(event, "type");
  const json* object = Field(event, "object");
  if (type == nullptr || !type->is_string() || object == nullptr) return;
  const std::string& kind = type->get_ref<const std::string&>();
  if (kind == "ERROR") {
    const json* code = Field(*object, "code");
    const std::string message =
        Field(*object, "message") != nullptr && (*object)["message"].is_string()
            ? (*object)["message"].get<std::string>()
            : object->dump();
    if (code != nullptr && code->is_number_integer() && code->get<int>() == 410) {
      gone = true;
      Log(LogLevel::kInfo,
          "ServiceAccount cache: watch expired (410 Gone: " + message + "), relisting");
    } else {
      Log(LogLevel::kWarn, "ServiceAccount cache: watch error event: " + message);
    }
    return;
  }
  const std::string rv = StringAt(*object, "metadata", "resourceVersion");
  if (!rv.empty()) resource_version = rv;
  if (kind == "BOOKMARK") return;
  auto info = ReadServiceAccount(*object, prefix_);
  if (!info.ok() || info->name.empty() || info->ns.empty()) {
    Log(LogLevel::kWarn, "ServiceAccount cache: ignoring unreadable " + kind + " event" +
                             (info.ok() ? std::string() : ": " + info.error()));
    return;
  }
  watch_events_.fetch_add(1, std::memory_order_relaxed);
  const std::string key = Key(info->ns, info->name);
  if (kind == "DELETED") {
    std::unique_lock<std::shared_mutex> lock(store_mu_);
    store_.Erase(info->ns, info->name);
  } else if (kind == "ADDED" || kind == "MODIFIED") {
    std::unique_lock<std::shared_mutex> lock(store_mu_);
    store_.Upsert(std::move(info).value());
  } else {
    return;
  }
  // A remembered GET answer is older than this event.
  std::lock_guard<std::mutex> lock(miss_mu_);
  remembered_.erase(key);
}

bool ServiceAccountCache::WatchOnce(std::string& resource_version, bool& progressed) {
  WatchOptions options;
  options.resource_version = resource_version;
  options.allow_bookmarks = true;
  random_state_ = random_state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  const auto base = options_.watch_timeout.count();
  options.timeout_seconds = static_cast<int>(
      base + static_cast<long long>((random_state_ >> 33) %
                                    static_cast<std::uint64_t>(base > 0 ? base : 1)));
  options.idle_timeout = std::chrono::seconds(options.timeout_seconds + 60);
  bool gone = false;
  std::uint64_t events = 0;
  const auto started = std::chrono::steady_clock::now();
  auto watched = client_->Watch(
      ResourcePath("v1", "serviceaccounts"), options,
      [&](json&& event) {
        ++events;
        ApplyEvent(event, resource_version, gone);
        return !gone;
      },
      cancel_.get());
  if (gone) return true;
  if (!watched.ok()) {
    if (watched.code() == StatusCode::kGone) {
      Log(LogLevel::kInfo, "ServiceAccount cache: resourceVersion " + resource_version +
                               " expired (410 Gone), relisting");
      return true;
    }
    if (!cancel_->cancelled())
      Log(LogLevel::kWarn, "ServiceAccount cache: watch failed: " + watched.error());
    progressed = false;
    return false;
  }
  progressed = events > 0 || std::chrono::steady_clock::now() - started >= kMinHealthyWatch;
  return false;
}

std::optional<ServiceAccountInfo> ServiceAccountCache::FindCached(std::string_view ns,
                                                                  std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(store_mu_);
  const auto ns_it = store_.namespaces.find(ns);
  if (ns_it == store_.namespaces.end()) return std::nullopt;
  const auto it = ns_it->second.find(name);
  if (it == ns_it->second.end()) return std::nullopt;
  ServiceAccountInfo info;
  info.ns = ns_it->first;
  info.name = it->first;
  if (it->second) {
    for (const auto& [key, value] : *it->second) info.annotations.emplace(key, value);
  }
  return info;
}

std::optional<ServiceAccountInfo> ServiceAccountCache::Find(std::string_view ns,
                                                            std::string_view name) const {
  if (auto cached = FindCached(ns, name)) return cached;
  const std::string key = Key(ns, name);
  std::promise<std::optional<ServiceAccountInfo>> promise;
  std::shared_future<std::optional<ServiceAccountInfo>> shared;
  {
    std::lock_guard<std::mutex> lock(miss_mu_);
    if (auto remembered = RememberedAnswer(key)) return *std::move(remembered);
    if (const auto it = in_flight_.find(key); it != in_flight_.end()) {
      shared = it->second;
    } else {
      in_flight_.emplace(key, promise.get_future().share());
    }
  }
  if (shared.valid()) return shared.get();  // another thread's GET answers for us
  auto value = FetchMiss(key, ns, name);
  {
    std::lock_guard<std::mutex> lock(miss_mu_);
    if (remembered_.size() >= options_.max_remembered_misses) {
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(remembered_, [&](const auto& entry) { return entry.second.expires <= now; });
      if (remembered_.size() >= options_.max_remembered_misses) remembered_.clear();
    }
    remembered_[key] = Remembered{std::chrono::steady_clock::now() + options_.miss_ttl, value};
    in_flight_.erase(key);
  }
  promise.set_value(value);
  return value;
}

ImmediateLookup ServiceAccountCache::FindWithoutWaiting(std::string_view ns,
                                                        std::string_view name) const {
  if (auto cached = FindCached(ns, name)) return {true, std::move(cached)};
  std::lock_guard<std::mutex> lock(miss_mu_);
  if (auto remembered = RememberedAnswer(Key(ns, name))) return {true, *std::move(remembered)};
  return {false, std::nullopt};
}

std::optional<std::optional<ServiceAccountInfo>> ServiceAccountCache::RememberedAnswer(
    const std::string& key) const {
  const auto it = remembered_.find(key);
  if (it == remembered_.end()) return std::nullopt;
  if (it->second.expires > std::chrono::steady_clock::now()) return it->second.value;
  remembered_.erase(it);
  return std::nullopt;
}

std::optional<ServiceAccountInfo> ServiceAccountCache::FetchMiss(const std::string& key,
                                                                 std::string_view ns,
                                                                 std::string_view name) const {
  miss_gets_.fetch_add(1, std::memory_order_relaxed);
  auto got = client_->Get(ResourcePath("v1", "serviceaccounts", ns, name), options_.miss_timeout);
  if (!got.ok()) {
    if (got.code() != StatusCode::kNotFound) {
      Log(LogLevel::kWarn, "ServiceAccount cache: miss GET for " + key +
                               " failed (pod handled from config alone): " + got.error());
    }
    return std::nullopt;
  }
  auto info = ReadServiceAccount(got.value(), prefix_);
  if (!info.ok()) {
    Log(LogLevel::kWarn,
        "ServiceAccount cache: unreadable ServiceAccount " + key + ": " + info.error());
    return std::nullopt;
  }
  if (info->ns.empty()) info->ns = std::string(ns);
  return std::move(info).value();
}

ServiceAccountCache::Stats ServiceAccountCache::stats() const {
  Stats s;
  {
    std::shared_lock<std::shared_mutex> lock(store_mu_);
    s.service_accounts = store_.size;
    s.annotated = store_.annotated;
    s.namespaces = store_.namespaces.size();
  }
  s.lists = lists_.load();
  s.watch_events = watch_events_.load();
  s.miss_gets = miss_gets_.load();
  return s;
}

}  // namespace irsa::kube
