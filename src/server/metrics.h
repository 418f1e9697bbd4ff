// Prometheus metrics of `serve` (docs/reference.md section 7), rendered in the text exposition
// format 0.0.4.
//
// Owns: the admission counters and duration histogram, the config/TLS reload counters, HTTP
// response counters, build info, gauges sampled at scrape time, and the process metrics read
// from /proc (RSS, CPU seconds, open fds, start time).
// Never: lets request input create series: kind and operation labels are folded into a fixed
// set ("other" for anything unknown), so a hostile caller cannot grow memory or cardinality.
// Thread-safety: Observe*/Count* are lock-free (relaxed atomics) and may be called from any
// thread; Render() may run concurrently with them. Gauge callbacks are set before serving.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "irsa/mutation.h"

namespace irsa::server {

// Upper bounds of the admission duration histogram, 100us to 1s (docs/reference.md section 7).
inline constexpr std::array<double, 13> kDurationBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

enum class ReloadResult { kSuccess, kError };

class Metrics {
 public:
  explicit Metrics(std::string version);

  // One admission that reached the rules (the review decoded). `group`/`kind` are the request's
  // resource kind; `seconds` the time spent from body received to response encoded.
  void ObserveAdmission(std::string_view group, std::string_view kind, std::string_view operation,
                        Outcome outcome, double seconds);
  // Every HTTP response of a listener ("webhook" or "metrics"), by status code.
  void CountHttpResponse(bool webhook_listener, int status);
  void CountConfigReload(ReloadResult result);
  void CountTlsReload(ReloadResult result);
  void CountStalledConnectionClosed();
  void CountOversizedRequestClosed();

  // A gauge sampled at each scrape (e.g. worker threads). Register before serving.
  void AddGauge(std::string name, std::string help, std::function<double()> sample);

  std::string Render() const;

  // Admission counter value, for tests and logs.
  std::uint64_t AdmissionCount(std::string_view group, std::string_view kind,
                               std::string_view operation, Outcome outcome) const;

 private:
  static constexpr std::size_t kKinds = 4;       // Pod, ServiceAccount, PerconaServerMongoDB, other
  static constexpr std::size_t kOperations = 5;  // CREATE, UPDATE, DELETE, CONNECT, other
  static constexpr std::size_t kOutcomes = 4;    // Outcome values
  static constexpr std::size_t kStatusCodes = 13;  // see StatusIndex()

  static std::size_t KindIndex(std::string_view group, std::string_view kind);
  static std::size_t OperationIndex(std::string_view operation);
  static std::size_t StatusIndex(int status);

  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> sample;
  };

  std::string version_;
  std::array<std::atomic<std::uint64_t>, kKinds * kOperations * kOutcomes> admissions_{};
  std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1>
      duration_buckets_{};  // last = +Inf
  std::atomic<std::uint64_t> duration_sum_ns_{0};
  std::array<std::atomic<std::uint64_t>, 2 * kStatusCodes> http_responses_{};
  std::array<std::atomic<std::uint64_t>, 2> config_reloads_{};
  std::array<std::atomic<std::uint64_t>, 2> tls_reloads_{};
  std::atomic<std::uint64_t> stalled_closed_{0};
  std::atomic<std::uint64_t> oversized_closed_{0};
  std::vector<Gauge> gauges_;
};

// Process metrics in the standard names (process_resident_memory_bytes, ...), from /proc/self.
std::string RenderProcessMetrics();

}  // namespace irsa::server
