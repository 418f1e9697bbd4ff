// Status and Result: expected failures as values.
//
// Owns: the error type every function of the core and of the Kubernetes client returns instead
// of throwing: a code the caller may branch on and a message written for the person who must act
// on it (a cluster admin), e.g. "config.yaml: binding \"psmdb\": roleArn: not a valid IAM role
// ARN".
// Never: carries exceptions across module boundaries; decides exit codes (only main does).
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace irsa {

// What kind of failure a Status is: only the kinds some caller handles differently. The
// Kubernetes client maps the HTTP status of an API answer onto them (the `code` of the Kubernetes
// Status object it carries); every other failure is kFailed and told apart by its message.
enum class StatusCode {
  kOk,
  kFailed,        // no more specific code: bad input, an unreadable file, any other HTTP answer
  kUnauthorized,  // HTTP 401: the API server refused the credentials
  kForbidden,     // HTTP 403: RBAC does not allow the call
  kNotFound,      // HTTP 404: the object, its namespace or its resource type does not exist
  kConflict,      // HTTP 409: a stale resourceVersion, or the object already exists
  kGone,          // HTTP 410: the resourceVersion a LIST or WATCH started from has expired
  kUnavailable,   // no HTTP answer at all: connection refused, TLS failure, timeout
  kCancelled,     // the caller stopped the call (a CancelToken)
};

class Status {
 public:
  static Status Ok() { return Status(); }
  // A failure with no more specific code.
  static Status Error(std::string message) {
    return Status(StatusCode::kFailed, std::move(message));
  }
  // A failure of the given kind; kOk here is a mistake and becomes kFailed.
  static Status Error(StatusCode code, std::string message) {
    return Status(code == StatusCode::kOk ? StatusCode::kFailed : code, std::move(message));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Empty when ok().
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or an error Status. Access value() only when ok().
template <typename T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Result(Status error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }
  // The error's code; kOk when ok().
  StatusCode code() const { return ok() ? StatusCode::kOk : std::get<Status>(data_).code(); }
  // The error's message. Call only when !ok().
  const std::string& error() const { return std::get<Status>(data_).message(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace irsa

// Assigns the value of a Result expression to `lhs`, or returns its error from the caller.
#define IRSA_ASSIGN_OR_RETURN(lhs, expr)                  \
  do {                                                    \
    auto irsa_result_ = (expr);                           \
    if (!irsa_result_.ok()) return irsa_result_.status(); \
    (lhs) = std::move(irsa_result_).value();              \
  } while (0)
