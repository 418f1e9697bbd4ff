// The injection config a running server uses, and its reload (SPEC section 3: "a running server
// keeps its last good config when a reload is invalid").
//
// Owns: the current Config, held as shared_ptr<const Config> and swapped atomically, so a
// request keeps the snapshot it started with while a reload installs the next one.
// Never: installs an invalid config, logs or counts (the caller does, from the returned Status),
// or watches files (FileWatcher does).
// Thread-safety: Current() is safe from any thread, concurrently with Reload(); Reload() calls
// are serialised by the caller (the one housekeeping thread).
#pragma once

#include <atomic>
#include <memory>
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
  Status Reload();

  std::shared_ptr<const Config> Current() const { return current_.load(std::memory_order_acquire); }
  const std::string& path() const { return path_; }
  // Advice about the config installed by the last successful Reload() (LintConfig).
  const std::vector<std::string>& lint() const { return lint_; }

 private:
  std::string path_;
  std::atomic<std::shared_ptr<const Config>> current_;
  std::vector<std::string> lint_;
};

}  // namespace irsa::server
