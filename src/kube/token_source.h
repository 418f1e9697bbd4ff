// The bearer token for the Kubernetes API: a static token, or a token file that the kubelet
// rotates (projected ServiceAccount tokens are refreshed about every hour and expire).
//
// Owns: re-reading the token file when its modification time, size or inode changes, and at least
// every kTokenRecheckInterval regardless (a rotated file may keep its mtime on some volumes).
// Never: keeps a file's token forever, or logs a token.
// Thread-safety: Token() may be called from any number of threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "irsa/status.h"

namespace irsa::kube {

// Longest time a token read from a file is used without looking at the file again.
inline constexpr std::chrono::seconds kTokenRecheckInterval{60};

class TokenSource {
 public:
  TokenSource() = default;  // no token: anonymous requests (or client certificates)
  static TokenSource Static(std::string token);
  static TokenSource File(std::string path);

  TokenSource(const TokenSource& other);
  TokenSource& operator=(const TokenSource& other);

  // The token to send now; empty when there is none. An error when the file cannot be read and
  // no earlier token is known.
  Result<std::string> Token() const;

 private:
  std::string static_token_;
  std::string path_;
  mutable std::mutex mu_;
  mutable std::string cached_;
  mutable std::int64_t mtime_ns_ = -1;
  mutable std::int64_t size_ = -1;
  mutable std::int64_t inode_ = -1;
  mutable std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace irsa::kube
