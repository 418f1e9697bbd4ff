// Structured logs of the server: one line per event, JSON objects (default) or key=value text.
//
// Owns: the spdlog logger of `serve` (stderr), its level and line format, and the escaping of
// field values. A line carries a message and typed fields; JSON lines look like
//   {"time":"2025-01-02T03:04:05.678901Z","level":"info","msg":"admission","uid":"...",...}
// Never: logs request or object bodies, env values or anything not passed as a field; callers
// pass names and outcomes only (env values may hold secrets). Writes a string field longer than
// kMaxLogValueBytes, or a line that is not valid UTF-8.
// Thread-safety: all methods may be called from any number of threads (spdlog _mt sink).
#pragma once

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
  void Log(LogLevel level, std::string_view message, LogFields fields = {});
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
  void Flush();

 private:
  LogFormat format_;
  LogLevel level_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Longest string field value written to a log line; longer ones are cut and their size noted
// (uids, names and error messages come from requests: a 1 MB uid must not become a 1 MB line).
inline constexpr std::size_t kMaxLogValueBytes = 1024;

// Appends `value` to `out` as the inside of a JSON string (quotes, backslashes and control
// characters escaped, bytes that are not well-formed UTF-8 replaced by U+FFFD). Exposed for
// tests.
void AppendJsonEscaped(std::string& out, std::string_view value);

}  // namespace irsa::server
