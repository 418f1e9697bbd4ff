// Status and Result: expected failures as values.
//
// Owns: the error type every core function returns instead of throwing. A message is written
// for the person who must act on it (a cluster admin), e.g. "config.yaml: binding \"psmdb\":
// roleArn: not a valid IAM role ARN".
// Never: carries exceptions across module boundaries; decides exit codes (only main does).
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace irsa {

class Status {
 public:
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  Status() = default;
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
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
    lhs = std::move(irsa_result_).value();                \
  } while (0)
