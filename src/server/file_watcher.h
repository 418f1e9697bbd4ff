// Notices when watched files change, by polling.
//
// Owns: a fingerprint of each watched path (device, inode, size, mtime/ctime of the file it
// resolves to, and the resolved path) and the comparison that says "this group changed".
// Kubernetes updates ConfigMap and Secret volumes by atomically swapping the `..data` symlink,
// so the file behind the path changes while the path's own inode does not; inotify on the file
// misses that. stat() through the symlink sees the new target.
// Never: reads file contents, sleeps or starts threads; the caller calls Poll() periodically
// (about once a second) from one thread.
// Thread-safety: not thread-safe; one owner thread.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <functional>
#include <string>
#include <vector>

namespace irsa::server {

class FileWatcher {
 public:
  using Callback = std::function<void()>;

  // Watches `paths` as one group: `on_change` runs once per Poll() in which any of them changed
  // (appeared, disappeared, or now resolves to different content). Fingerprints are taken now.
  void Watch(std::vector<std::string> paths, Callback on_change);

  // Compares every group with its last fingerprint and runs the callbacks of changed groups.
  // Returns how many groups changed.
  std::size_t Poll();

 private:
  struct Fingerprint {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
    timespec ctime{};
    std::string resolved;
    bool operator==(const Fingerprint& other) const;
  };
  struct Group {
    std::vector<std::string> paths;
    std::vector<Fingerprint> fingerprints;
    Callback on_change;
  };
  static Fingerprint Take(const std::string& path);

  std::vector<Group> groups_;
};

}  // namespace irsa::server
