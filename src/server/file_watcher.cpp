#include "file_watcher.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <memory>

namespace irsa::server {

bool FileWatcher::Fingerprint::operator==(const Fingerprint& other) const {
  return exists == other.exists && device == other.device && inode == other.inode &&
         size == other.size && mtime.tv_sec == other.mtime.tv_sec &&
         mtime.tv_nsec == other.mtime.tv_nsec && ctime.tv_sec == other.ctime.tv_sec &&
         ctime.tv_nsec == other.ctime.tv_nsec && resolved == other.resolved;
}

FileWatcher::Fingerprint FileWatcher::Take(const std::string& path) {
  Fingerprint f;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return f;  // missing (or a dangling symlink)
  f.exists = true;
  f.device = st.st_dev;
  f.inode = st.st_ino;
  f.size = st.st_size;
  f.mtime = st.st_mtim;
  f.ctime = st.st_ctim;
  const std::unique_ptr<char, decltype(&std::free)> resolved(realpath(path.c_str(), nullptr),
                                                             &std::free);
  if (resolved) f.resolved = resolved.get();
  return f;
}

void FileWatcher::Watch(std::vector<std::string> paths, Callback on_change) {
  Group group;
  for (const auto& path : paths) group.fingerprints.push_back(Take(path));
  group.paths = std::move(paths);
  group.on_change = std::move(on_change);
  groups_.push_back(std::move(group));
}

std::size_t FileWatcher::Poll() {
  std::size_t changed = 0;
  for (auto& group : groups_) {
    bool group_changed = false;
    for (std::size_t i = 0; i < group.paths.size(); ++i) {
      Fingerprint now = Take(group.paths[i]);
      if (!(now == group.fingerprints[i])) {
        group.fingerprints[i] = std::move(now);
        group_changed = true;
      }
    }
    if (group_changed) {
      ++changed;
      group.on_change();
    }
  }
  return changed;
}

}  // namespace irsa::server
