// The bearer token for the Kubernetes API: a static token, a token file that the kubelet
// rotates (projected ServiceAccount tokens are refreshed about every hour and expire), or an exec
// credential plugin (`aws eks get-token`: 15-minute tokens).
//
// Owns: re-reading the token file when its modification time, size or inode changes, and at least
// every kTokenRecheckInterval regardless (a rotated file may keep its mtime on some volumes);
// running the exec plugin when there is no token yet, when its token is within
// kExecRefreshBeforeExpiry of its expirationTimestamp, or after the API server refused it.
// Never: keeps a file's token forever, uses a plugin's token past its expiry, or logs a token.
// Thread-safety: Token() and Invalidate() may be called from any number of threads; one plugin
// run at a time (the others wait for its token).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "irsa/status.h"
#include "kube/exec_credential.h"

namespace irsa::kube {

// Longest time a token read from a file is used without looking at the file again.
inline constexpr std::chrono::seconds kTokenRecheckInterval{60};

class TokenSource {
 public:
  TokenSource() = default;  // no token: anonymous requests (or client certificates)
  static TokenSource Static(std::string token);
  static TokenSource File(std::string path);
  static TokenSource Exec(ExecPluginConfig plugin);

  TokenSource(const TokenSource& other);
  TokenSource& operator=(const TokenSource& other);

  // The token to send now; empty when there is none. An error when the file cannot be read and
  // no earlier token is known.
  Result<std::string> Token() const;
  // The API server refused `token` (401): the next Token() runs the exec plugin again. Other
  // sources re-read their file or have nothing to refresh.
  void Invalidate(const std::string& token) const;
  // How many times the exec plugin ran (for tests and diagnostics).
  int exec_runs() const;

 private:
  std::string static_token_;
  std::string path_;
  std::shared_ptr<const ExecPluginConfig> exec_;
  mutable std::mutex mu_;
  mutable std::string cached_;
  mutable std::int64_t mtime_ns_ = -1;
  mutable std::int64_t size_ = -1;
  mutable std::int64_t inode_ = -1;
  mutable std::chrono::steady_clock::time_point read_at_{};
  mutable std::optional<std::chrono::system_clock::time_point> expires_at_;
  mutable int exec_runs_ = 0;
};

}  // namespace irsa::kube
