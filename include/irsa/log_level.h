// LogLevel: how much an event matters, from debug to error.
//
// Owns: the one severity scale of every module: the server's logger filters and writes it, and
// the Kubernetes code (ServiceAccount cache) reports its events with it through a callback.
// Never: logs anything itself (the core does no logging; this is only the vocabulary).
// Thread-safety: a plain enum.
#pragma once

namespace irsa {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

}  // namespace irsa
