#include "config_store.h"

#include "irsa/text.h"

namespace irsa::server {

ConfigStore::ConfigStore(std::string path)
    : path_(std::move(path)), current_(std::make_shared<const Config>()) {}

Status ConfigStore::Reload() {
  if (path_.empty()) return Status::Ok();
  auto loaded = LoadConfigFile(path_);
  if (!loaded.ok()) return loaded.status();
  if (installed_ && loaded->annotation_prefix != Current()->annotation_prefix) {
    return Status::Error(path_ + ": annotationPrefix: changed from " +
                         Quote(Current()->annotation_prefix) + " to " +
                         Quote(loaded->annotation_prefix) +
                         "; the ServiceAccount cache keeps only the annotations of the prefix the "
                         "server started with, so a new prefix needs a restart");
  }
  lint_ = LintConfig(*loaded);
  auto next = std::make_shared<const Config>(std::move(loaded).value());
  std::lock_guard<std::mutex> lock(mutex_);
  current_.swap(next);  // the old config is freed outside the lock, by `next`
  installed_ = true;
  return Status::Ok();
}

}  // namespace irsa::server
