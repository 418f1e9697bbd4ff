// RFC 3339 timestamps as Kubernetes writes them (metav1.Time: "2025-01-31T12:00:00Z", also with
// fractional seconds or a numeric offset, as exec credential plugins may print).
//
// Never: reads the local time zone (everything is UTC). Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace irsa::kube {

// nullopt when `text` is not an RFC 3339 date-time.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace irsa::kube
