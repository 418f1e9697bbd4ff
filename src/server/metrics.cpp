#include "metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "irsa/constants.h"

namespace irsa::server {
namespace {

constexpr std::array<std::string_view, 4> kKindNames = {"Pod", "ServiceAccount",
                                                        "PerconaServerMongoDB", "other"};
constexpr std::array<std::string_view, 5> kOperationNames = {"CREATE", "UPDATE", "DELETE",
                                                             "CONNECT", "other"};
constexpr std::array<Outcome, 4> kOutcomeValues = {Outcome::kMutated, Outcome::kUnchanged,
                                                   Outcome::kSkipped, Outcome::kError};
// Status codes with their own series; anything else is counted as "other".
constexpr std::array<int, 12> kStatusCodeValues = {200, 400, 404, 405, 408, 413,
                                                   414, 415, 431, 500, 501, 503};

void AppendDouble(std::string& out, double value) {
  char buffer[40];
  int n = 0;
  if (std::isinf(value)) {
    n = std::snprintf(buffer, sizeof(buffer), value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    n = std::snprintf(buffer, sizeof(buffer), "%.0f", value);
  } else {
    n = std::snprintf(buffer, sizeof(buffer), "%.9g", value);
  }
  out.append(buffer, static_cast<std::size_t>(n));
}

void AppendUint(std::string& out, std::uint64_t value) {
  char buffer[24];
  const int n = std::snprintf(buffer, sizeof(buffer), "%" PRIu64, value);
  out.append(buffer, static_cast<std::size_t>(n));
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

std::uint64_t Load(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

Metrics::Metrics(std::string version) : version_(std::move(version)) {}

std::size_t Metrics::KindIndex(std::string_view group, std::string_view kind) {
  if (group.empty() && kind == "Pod") return 0;
  if (group.empty() && kind == "ServiceAccount") return 1;
  if (group == kPerconaGroup && kind == kPerconaKind) return 2;
  return 3;
}

std::size_t Metrics::OperationIndex(std::string_view operation) {
  for (std::size_t i = 0; i + 1 < kOperationNames.size(); ++i) {
    if (operation == kOperationNames[i]) return i;
  }
  return kOperationNames.size() - 1;
}

std::size_t Metrics::StatusIndex(int status) {
  for (std::size_t i = 0; i < kStatusCodeValues.size(); ++i) {
    if (status == kStatusCodeValues[i]) return i;
  }
  return kStatusCodes - 1;
}

void Metrics::ObserveAdmission(std::string_view group, std::string_view kind,
                               std::string_view operation, Outcome outcome, double seconds) {
  const std::size_t index =
      (KindIndex(group, kind) * kOperations + OperationIndex(operation)) * kOutcomes +
      static_cast<std::size_t>(outcome);
  admissions_[index].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;
  duration_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  const double ns = seconds > 0 ? seconds * 1e9 : 0;
  duration_sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

std::uint64_t Metrics::AdmissionCount(std::string_view group, std::string_view kind,
                                      std::string_view operation, Outcome outcome) const {
  const std::size_t index =
      (KindIndex(group, kind) * kOperations + OperationIndex(operation)) * kOutcomes +
      static_cast<std::size_t>(outcome);
  return Load(admissions_[index]);
}

void Metrics::CountHttpResponse(bool webhook_listener, int status) {
  http_responses_[(webhook_listener ? 0 : kStatusCodes) + StatusIndex(status)].fetch_add(
      1, std::memory_order_relaxed);
}

void Metrics::CountConfigReload(ReloadResult result) {
  config_reloads_[result == ReloadResult::kSuccess ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountTlsReload(ReloadResult result) {
  tls_reloads_[result == ReloadResult::kSuccess ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountStalledConnectionClosed() {
  stalled_closed_.fetch_add(1, std::memory_order_relaxed);
}
void Metrics::CountOversizedRequestClosed() {
  oversized_closed_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> sample) {
  gauges_.push_back({std::move(name), std::move(help), std::move(sample)});
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(8192);

  AppendHeader(out, "irsa_webhook_admission_requests_total", "counter",
               "AdmissionReview requests by resource kind, operation and outcome.");
  for (std::size_t k = 0; k < kKinds; ++k) {
    for (std::size_t o = 0; o < kOperations; ++o) {
      for (std::size_t r = 0; r < kOutcomes; ++r) {
        const std::uint64_t value = Load(admissions_[(k * kOperations + o) * kOutcomes + r]);
        if (value == 0) continue;  // series appear on first use, as client libraries do
        out.append("irsa_webhook_admission_requests_total{kind=\"").append(kKindNames[k]);
        out.append("\",operation=\"").append(kOperationNames[o]);
        out.append("\",outcome=\"").append(OutcomeName(kOutcomeValues[r])).append("\"} ");
        AppendUint(out, value);
        out += '\n';
      }
    }
  }

  AppendHeader(out, "irsa_webhook_admission_duration_seconds", "histogram",
               "Time from AdmissionReview received to response encoded.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < duration_buckets_.size(); ++b) {
    cumulative += Load(duration_buckets_[b]);
    out.append("irsa_webhook_admission_duration_seconds_bucket{le=\"");
    if (b < kDurationBuckets.size()) {
      AppendDouble(out, kDurationBuckets[b]);
    } else {
      out.append("+Inf");
    }
    out.append("\"} ");
    AppendUint(out, cumulative);
    out += '\n';
  }
  out.append("irsa_webhook_admission_duration_seconds_sum ");
  AppendDouble(out, static_cast<double>(Load(duration_sum_ns_)) / 1e9);
  out.append("\nirsa_webhook_admission_duration_seconds_count ");
  AppendUint(out, cumulative);
  out += '\n';

  AppendHeader(out, "irsa_webhook_http_responses_total", "counter",
               "HTTP responses by listener and status code.");
  for (std::size_t l = 0; l < 2; ++l) {
    for (std::size_t s = 0; s < kStatusCodes; ++s) {
      const std::uint64_t value = Load(http_responses_[l * kStatusCodes + s]);
      if (value == 0) continue;
      out.append("irsa_webhook_http_responses_total{listener=\"")
          .append(l == 0 ? "webhook" : "metrics");
      out.append("\",code=\"");
      if (s < kStatusCodeValues.size()) {
        AppendUint(out, static_cast<std::uint64_t>(kStatusCodeValues[s]));
      } else {
        out.append("other");
      }
      out.append("\"} ");
      AppendUint(out, value);
      out += '\n';
    }
  }

  AppendHeader(out, "irsa_webhook_config_reloads_total", "counter",
               "Config file reloads by result.");
  out.append("irsa_webhook_config_reloads_total{result=\"success\"} ");
  AppendUint(out, Load(config_reloads_[0]));
  out.append("\nirsa_webhook_config_reloads_total{result=\"error\"} ");
  AppendUint(out, Load(config_reloads_[1]));
  out += '\n';

  AppendHeader(out, "irsa_webhook_tls_reloads_total", "counter",
               "TLS certificate and key reloads by result.");
  out.append("irsa_webhook_tls_reloads_total{result=\"success\"} ");
  AppendUint(out, Load(tls_reloads_[0]));
  out.append("\nirsa_webhook_tls_reloads_total{result=\"error\"} ");
  AppendUint(out, Load(tls_reloads_[1]));
  out += '\n';

  AppendHeader(out, "irsa_webhook_stalled_connections_closed_total", "counter",
               "Connections closed because a request did not arrive completely in time.");
  out.append("irsa_webhook_stalled_connections_closed_total ");
  AppendUint(out, Load(stalled_closed_));
  out += '\n';

  AppendHeader(
      out, "irsa_webhook_oversized_requests_closed_total", "counter",
      "Connections closed because a request head (or a chunk-size line) exceeded its size limit.");
  out.append("irsa_webhook_oversized_requests_closed_total ");
  AppendUint(out, Load(oversized_closed_));
  out += '\n';

  AppendHeader(out, "irsa_webhook_build_info", "gauge",
               "Build information; the value is always 1.");
  out.append("irsa_webhook_build_info{version=\"").append(version_).append("\"} 1\n");

  for (const auto& gauge : gauges_) {
    AppendHeader(out, gauge.name, "gauge", gauge.help);
    out.append(gauge.name).append(" ");
    AppendDouble(out, gauge.sample());
    out += '\n';
  }

  out += RenderProcessMetrics();
  return out;
}

std::string RenderProcessMetrics() {
  std::string out;
  const long page_size = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);

  // /proc/self/stat: fields after the parenthesised command name; utime=14, stime=15,
  // starttime=22, vsize=23, rss=24 (1-based, proc(5)).
  const std::string stat = ReadFirstLine("/proc/self/stat");
  const auto close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                               std::istream_iterator<std::string>()};
    // f[0] is field 3 (state).
    const auto field = [&](std::size_t n) -> double {
      return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0;
    };
    AppendHeader(out, "process_cpu_seconds_total", "counter",
                 "Total user and system CPU time spent in seconds.");
    out.append("process_cpu_seconds_total ");
    AppendDouble(out, (field(14) + field(15)) / static_cast<double>(ticks));
    out += '\n';
    AppendHeader(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    out.append("process_virtual_memory_bytes ");
    AppendDouble(out, field(23));
    out += '\n';
    AppendHeader(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out.append("process_resident_memory_bytes ");
    AppendDouble(out, field(24) * static_cast<double>(page_size));
    out += '\n';

    // Boot time (btime in /proc/stat) + starttime ticks = process start in Unix seconds.
    std::ifstream proc_stat("/proc/stat");
    std::string line;
    double boot_time = 0;
    while (std::getline(proc_stat, line)) {
      if (line.rfind("btime ", 0) == 0) {
        boot_time = std::strtod(line.c_str() + 6, nullptr);
        break;
      }
    }
    AppendHeader(out, "process_start_time_seconds", "gauge",
                 "Start time of the process since unix epoch in seconds.");
    out.append("process_start_time_seconds ");
    AppendDouble(out, boot_time + field(22) / static_cast<double>(ticks));
    out += '\n';
  }

  std::size_t open_fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++open_fds;
    }
    closedir(dir);
    if (open_fds > 0) --open_fds;  // the descriptor of the directory stream itself
  }
  AppendHeader(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  out.append("process_open_fds ");
  AppendUint(out, open_fds);
  out += '\n';
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    AppendHeader(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out.append("process_max_fds ");
    AppendDouble(out, limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur));
    out += '\n';
  }
  return out;
}

}  // namespace irsa::server
