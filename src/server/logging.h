// Structured logs of the server: one line per event, JSON objects (default) or key=value text.
//
// Owns: the spdlog logger of `serve` (stderr), its level and line format, and the escaping of
// field values. A line carries a message and typed fields; JSON lines look like
//   {"time":"2025-01-02T03:04:05.678901Z","level":"info","msg":"admission","uid":"...",...}
// Never: logs request or object bodies, env values or anything not passed as a field; callers
// pass names and outcomes only (env values may hold secrets). Writes a string field longer than
// kMaxLogValueBytes, or a line that is not valid UTF-8.
// Delivery: a line is written to stderr (fd 2) before Log() returns, except per-request lines
// (LogPerRequest) below warn, which are batched: written when kBatchBytes are pending, when any
// other line is logged, or at Flush(), which `serve` calls every watch interval. So a per-request
// line reaches stderr at most about a second late, in order, and costs a memcpy instead of a
// write(2) under a lock shared by every event loop (measured: a fifth of serve's CPU at info).
// Thread-safety: all methods may be called from any number of threads (one mutex, in the sink).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "irsa/log_level.h"
#include "irsa/status.h"

namespace spdlog {
class logger;
}

namespace irsa::server {

enum class LogFormat { kJson, kText };

// "json" | "text"; "debug" | "info" | "warn" | "error". Errors name the accepted values.
Result<LogFormat> ParseLogFormat(std::string_view text);
Result<LogLevel> ParseLogLevel(std::string_view text);

// One key and a typed value. Views must outlive the Log() call only.
struct LogField {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  std::string_view key;
  Value value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, std::int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view k, std::size_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
};
using LogFields = std::initializer_list<LogField>;

class Logger {
 public:
  Logger(LogFormat format, LogLevel level);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(LogLevel level) const { return level >= level_; }
  // Written before returning (with any batched lines before it).
  void Log(LogLevel level, std::string_view message, LogFields fields = {});
  // One line per request (admissions, refused requests): batched below warn, see Delivery above.
  void LogPerRequest(LogLevel level, std::string_view message, LogFields fields = {});
  void Debug(std::string_view message, LogFields fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(std::string_view message, LogFields fields = {}) {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warn(std::string_view message, LogFields fields = {}) {
    Log(LogLevel::kWarn, message, fields);
  }
  void Error(std::string_view message, LogFields fields = {}) {
    Log(LogLevel::kError, message, fields);
  }
  // Writes the batched lines.
  void Flush();

 private:
  void Write(LogLevel level, std::string_view message, LogFields fields, bool batched);

  LogFormat format_;
  LogLevel level_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Per-request lines pending at most this many bytes before they are written (about 40 admission
// lines): one write(2) per batch instead of one per request.
inline constexpr std::size_t kBatchBytes = std::size_t{16} * 1024;

// Longest string field value written to a log line; longer ones are cut and their size noted
// (uids, names and error messages come from requests: a 1 MB uid must not become a 1 MB line).
inline constexpr std::size_t kMaxLogValueBytes = 1024;

// Appends `value` to `out` as the inside of a JSON string (quotes, backslashes and control
// characters escaped, bytes that are not well-formed UTF-8 replaced by U+FFFD). Exposed for
// tests.
void AppendJsonEscaped(std::string& out, std::string_view value);

}  // namespace irsa::server
