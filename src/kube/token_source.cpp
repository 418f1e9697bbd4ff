#include "kube/token_source.h"

#include <sys/stat.h>

#include "irsa/document.h"
#include "irsa/text.h"

namespace irsa::kube {

TokenSource TokenSource::Static(std::string token) {
  TokenSource source;
  source.static_token_ = std::move(token);
  return source;
}

TokenSource TokenSource::File(std::string path) {
  TokenSource source;
  source.path_ = std::move(path);
  return source;
}

TokenSource TokenSource::Exec(ExecPluginConfig plugin) {
  TokenSource source;
  source.exec_ = std::make_shared<const ExecPluginConfig>(std::move(plugin));
  return source;
}

TokenSource::TokenSource(const TokenSource& other) { *this = other; }

TokenSource& TokenSource::operator=(const TokenSource& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mu_, other.mu_);
  static_token_ = other.static_token_;
  path_ = other.path_;
  exec_ = other.exec_;
  expires_at_ = other.expires_at_;
  exec_runs_ = other.exec_runs_;
  cached_ = other.cached_;
  mtime_ns_ = other.mtime_ns_;
  size_ = other.size_;
  inode_ = other.inode_;
  read_at_ = other.read_at_;
  return *this;
}

void TokenSource::Invalidate(const std::string& token) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (exec_ != nullptr && token == cached_) cached_.clear();
}

int TokenSource::exec_runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exec_runs_;
}

Result<std::string> TokenSource::Token() const {
  if (exec_ != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool fresh = !cached_.empty() &&
                       (!expires_at_ ||
                        std::chrono::system_clock::now() + kExecRefreshBeforeExpiry < *expires_at_);
    if (fresh) return cached_;
    ++exec_runs_;
    auto credential = RunExecPlugin(*exec_);
    if (!credential.ok()) {
      cached_.clear();  // an expired or refused token is never reused
      return credential.status();
    }
    cached_ = std::move(credential->token);
    expires_at_ = credential->expires_at;
    return cached_;
  }
  if (path_.empty()) return static_token_;
  const auto now = std::chrono::steady_clock::now();
  struct stat st {};
  const bool stat_ok = ::stat(path_.c_str(), &st) == 0;
  const std::int64_t mtime_ns =
      stat_ok ? static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : -1;
  const std::int64_t size = stat_ok ? static_cast<std::int64_t>(st.st_size) : -1;
  // The kubelet swaps a new file in (a symlink flip): a new inode is a new token even when the
  // size and the coarse file-system timestamp happen to match.
  const std::int64_t inode = stat_ok ? static_cast<std::int64_t>(st.st_ino) : -1;

  std::lock_guard<std::mutex> lock(mu_);
  const bool fresh = !cached_.empty() && mtime_ns == mtime_ns_ && size == size_ &&
                     inode == inode_ && now - read_at_ < kTokenRecheckInterval;
  if (fresh) return cached_;
  auto text = ReadFileText(path_);
  if (!text.ok()) {
    // The kubelet swaps the file atomically, so a failed read is rare; keep using the last token
    // rather than failing every request in that moment.
    if (!cached_.empty()) return cached_;
    return Status::Error("token file: " + text.error());
  }
  std::string token(Trim(*text));
  if (token.empty()) {
    if (!cached_.empty()) return cached_;
    return Status::Error("token file " + path_ + " is empty");
  }
  cached_ = std::move(token);
  mtime_ns_ = mtime_ns;
  size_ = size;
  inode_ = inode;
  read_at_ = now;
  return cached_;
}

}  // namespace irsa::kube
