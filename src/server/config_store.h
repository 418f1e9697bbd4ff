// The injection config a running server uses, and its reload (docs/reference.md section 3: "a
// running server keeps its last good config when a reload is invalid").
//
// Owns: the current Config, held as shared_ptr<const Config> and swapped under a mutex (only
// the pointer copy is locked), so a request keeps the snapshot it started with while a reload
// installs the next one. (Not std::atomic<std::shared_ptr>: libstdc++ 12's version is reported
// by ThreadSanitizer, which CI runs.)
// Never: installs an invalid config, logs or counts (the caller does, from the returned Status),
// or watches files (FileWatcher does).
// Thread-safety: Current() is safe from any thread, concurrently with Reload(); Reload() calls
// are serialised by the caller (the one housekeeping thread).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "irsa/config.h"
#include "irsa/status.h"

namespace irsa::server {

class ConfigStore {
 public:
  // `path` empty: built-in defaults, no bindings, never reloaded.
  explicit ConfigStore(std::string path);

  // Reads and validates the file; on success installs it. On error the previous config stays.
  // After the first install, a config with another annotationPrefix is an error: the
  // ServiceAccount cache was built for the first prefix and keeps only its annotations.
  Status Reload();

  std::shared_ptr<const Config> Current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  const std::string& path() const { return path_; }
  // Advice about the config installed by the last successful Reload() (LintConfig).
  const std::vector<std::string>& lint() const { return lint_; }

 private:
  std::string path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Config> current_;
  std::vector<std::string> lint_;
  bool installed_ = false;  // a file's config was installed; Reload() runs on one thread only
};

}  // namespace irsa::server
