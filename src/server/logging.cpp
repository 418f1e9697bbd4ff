#include "logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "irsa/json_patch.h"
#include "irsa/text.h"

namespace irsa::server {
namespace {

// Timestamps in UTC with microseconds, as log collectors (Loki, Cloud Logging) parse them.
constexpr const char* kJsonPattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})";
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%fZ %l %v";

// stderr (fd 2) behind a buffer: lines are appended, and written with as few write(2) calls as
// their size needs when kBatchBytes are pending or on flush. spdlog's base_sink holds the mutex
// around both. A write that fails (stderr closed, a full disk) drops the batch: logging must
// never stop the server.
class BatchedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BatchedStderrSink() { pending_.reserve(kBatchBytes + 1024); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    formatter_->format(msg, formatted_);
    pending_.append(formatted_.data(), formatted_.size());
    formatted_.clear();
    if (pending_.size() >= kBatchBytes) flush_();
  }

  void flush_() override {
    std::size_t done = 0;
    while (done < pending_.size()) {
      const ssize_t n = ::write(STDERR_FILENO, pending_.data() + done, pending_.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
    pending_.clear();
  }

 private:
  spdlog::memory_buf_t formatted_;
  std::string pending_;
};

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

void AppendNumber(std::string& out, const LogField::Value& value) {
  char buffer[32];
  int n = 0;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    n = std::snprintf(buffer, sizeof(buffer), "%lld", static_cast<long long>(*i));
  } else if (const auto* d = std::get_if<double>(&value)) {
    // JSON has no NaN or infinity.
    n = std::isfinite(*d) ? std::snprintf(buffer, sizeof(buffer), "%.6g", *d)
                          : std::snprintf(buffer, sizeof(buffer), "0");
  }
  if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || byte < 0x20 || byte >= 0x7f) return true;
  }
  return false;
}

// Length of the well-formed UTF-8 sequence starting at value[i] (RFC 3629), 0 if it is not one.
std::size_t Utf8SequenceLength(std::string_view value, std::size_t i) {
  const auto at = [&](std::size_t k) {
    return i + k < value.size() ? static_cast<unsigned char>(value[i + k]) : 0U;
  };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
    return at(k) >= lo && at(k) <= hi;
  };
  const unsigned b = at(0);
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;  // no UTF-16 surrogates
  if (b == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// A string field as logged: at most kMaxLogValueBytes (cut at a character boundary), with
// the original size noted when cut.
void AppendValue(std::string& out, std::string_view value) {
  if (value.size() <= kMaxLogValueBytes) {
    AppendJsonEscaped(out, value);
    return;
  }
  std::size_t cut = kMaxLogValueBytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xc0U) == 0x80U) --cut;
  AppendJsonEscaped(out, value.substr(0, cut));
  out += "...(";
  out += std::to_string(value.size());
  out += " bytes)";
}

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "json") return LogFormat::kJson;
  if (text == "text") return LogFormat::kText;
  return Status::Error("--log-format must be json or text, not " + Quote(text));
}

Result<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return Status::Error("--log-level must be debug, info, warn or error, not " + Quote(text));
}

void AppendJsonEscaped(std::string& out, std::string_view value) {
  // Well-formed UTF-8 is kept; anything else (request paths, header values) would make the line
  // invalid JSON for log collectors, so each malformed byte becomes U+FFFD.
  std::size_t run = 0;  // start of the current well-formed run
  for (std::size_t i = 0; i < value.size();) {
    if (static_cast<unsigned char>(value[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = Utf8SequenceLength(value, i); n > 0) {
      i += n;
    } else {
      AppendJsonStringBody(out, value.substr(run, i - run));
      out += "\\ufffd";
      run = ++i;
    }
  }
  AppendJsonStringBody(out, value.substr(run));
}

Logger::Logger(LogFormat format, LogLevel level) : format_(format), level_(level) {
  // Not registered in spdlog's global registry: each Logger is independent (tests make several).
  auto sink = std::make_shared<BatchedStderrSink>();
  logger_ = std::make_shared<spdlog::logger>("irsa-webhook", std::move(sink));
  logger_->set_pattern(format == LogFormat::kJson ? kJsonPattern : kTextPattern,
                       spdlog::pattern_time_type::utc);
  logger_->set_level(SpdlogLevel(level));
  logger_->flush_on(spdlog::level::warn);  // warn and above are never held
}

Logger::~Logger() { Flush(); }

void Logger::Log(LogLevel level, std::string_view message, LogFields fields) {
  Write(level, message, fields, false);
}

void Logger::LogPerRequest(LogLevel level, std::string_view message, LogFields fields) {
  Write(level, message, fields, true);
}

void Logger::Write(LogLevel level, std::string_view message, LogFields fields, bool batched) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128 + fields.size() * 24);
  if (format_ == LogFormat::kJson) {
    line += "\"msg\":\"";
    AppendJsonEscaped(line, message);
    line += '"';
    for (const auto& field : fields) {
      line += ",\"";
      AppendJsonEscaped(line, field.key);
      line += "\":";
      if (const auto* s = std::get_if<std::string_view>(&field.value)) {
        line += '"';
        AppendValue(line, *s);
        line += '"';
      } else if (const auto* b = std::get_if<bool>(&field.value)) {
        line += *b ? "true" : "false";
      } else {
        AppendNumber(line, field.value);
      }
    }
  } else {
    line += message;
    for (const auto& field : fields) {
      line += ' ';
      line += field.key;
      line += '=';
      if (const auto* s = std::get_if<std::string_view>(&field.value)) {
        if (NeedsQuotes(*s) || s->size() > kMaxLogValueBytes) {
          line += '"';
          AppendValue(line, *s);
          line += '"';
        } else {
          line += *s;
        }
      } else if (const auto* b = std::get_if<bool>(&field.value)) {
        line += *b ? "true" : "false";
      } else {
        AppendNumber(line, field.value);
      }
    }
  }
  logger_->log(SpdlogLevel(level), spdlog::string_view_t(line.data(), line.size()));
  if (!batched) logger_->flush();
}

void Logger::Flush() { logger_->flush(); }

}  // namespace irsa::server
