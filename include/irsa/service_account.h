// What the webhook knows of a ServiceAccount, and where it gets it.
//
// Owns: ServiceAccountInfo (name, namespace, and only the "<prefix>/" annotations: that is all
// the mutation rules read, and keeping less keeps the server's cache small) and the
// ServiceAccountLookup interface, behind which the Kubernetes API sits (src/kube implements it;
// tests use a fake), as leveldb puts the OS behind Env.
// Never: performs I/O itself.
// Thread-safety: implementations of ServiceAccountLookup must allow concurrent Find() calls.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "irsa/status.h"

namespace irsa {

struct ServiceAccountInfo {
  std::string ns;
  std::string name;
  std::map<std::string, std::string, std::less<>> annotations;  // "<prefix>/..." only

  const std::string* Annotation(std::string_view key) const;
};

// Extracts a ServiceAccountInfo from a ServiceAccount object, keeping only annotations whose key
// starts with "<prefix>/". Errors name the bad field.
Result<ServiceAccountInfo> ReadServiceAccount(const nlohmann::json& service_account,
                                              std::string_view annotation_prefix);

// What a lookup can tell without waiting: `known` false when only a wait (a GET to the API)
// could tell; otherwise `account` is what Find() answers.
struct ImmediateLookup {
  bool known = true;
  std::optional<ServiceAccountInfo> account;
};

class ServiceAccountLookup {
 public:
  virtual ~ServiceAccountLookup() = default;
  // The ServiceAccount, or nullopt if it does not exist or cannot be known in time (the pod is
  // then handled from the config alone). May block for a bounded time (a cache miss GET).
  virtual std::optional<ServiceAccountInfo> Find(std::string_view ns,
                                                 std::string_view name) const = 0;
  // Find()'s answer when it is at hand (never blocks). The default, for lookups that never
  // wait: Find() itself.
  virtual ImmediateLookup FindWithoutWaiting(std::string_view ns, std::string_view name) const {
    return {true, Find(ns, name)};
  }
};

}  // namespace irsa
