// The one JSON reader of admission input: AdmissionReview bodies (`serve`) and the objects
// `mutate`, the golden cases and the reconciler hand to the rules are all parsed by simdjson
// into a DOM, and read from it by the envelope decoder and the pod reader.
//
// Owns: the nesting limit (kMaxNestingDepth, as ParseJson in document.h), parse errors worded
// for an HTTP 400 body (they never quote the input), duplicate-key resolution as nlohmann::json
// resolves it (the last member wins, and a null member is absent), and the conversion of a DOM
// value to nlohmann::json for the rules that take one (ServiceAccount, PerconaServerMongoDB).
// Never: part of the public headers (include/irsa): simdjson is a private dependency of the
// core, and only the core, its benchmark and its json_dom_test include this.
// Thread-safety: a JsonDom is not thread-safe (it reuses its buffers); keep one per thread.
// The free functions are pure.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "irsa/constants.h"
#include "irsa/status.h"

namespace irsa::internal {

class JsonDom {
 public:
  JsonDom();
  ~JsonDom();
  JsonDom(const JsonDom&) = delete;
  JsonDom& operator=(const JsonDom&) = delete;

  // The root of `text`; valid until the next Parse or Release. Errors: "parse error: ..." or
  // "JSON nests deeper than 512 levels". `readable_past_end`: bytes after `text` the caller
  // guarantees are readable (a string's spare capacity); with at least kReviewBodyPadding the
  // text is parsed where it lies, otherwise it is copied into the parser first.
  Result<simdjson::dom::element> Parse(std::string_view text, std::size_t readable_past_end = 0);

  // Bytes of input the buffers are sized for now.
  std::size_t capacity() const;
  // Gives the buffers back when they are sized for more than `bytes` (invalidates the DOM).
  void ReleaseIfOver(std::size_t bytes);

 private:
  void Reset();

  std::unique_ptr<simdjson::dom::parser> parser_;
  bool ready_ = false;  // allocated, with the depth limit
};

// Whether a member's name is `key`. Inlined, in word-sized loads that never leave either
// string: the readers compare every member of the objects they read with a few short keys, and
// a call to memcmp for each costs more than the comparison itself.
inline bool SameKey(std::string_view name, std::string_view key) {
  const std::size_t n = key.size();
  if (name.size() != n) return false;
  const char* a = name.data();
  const char* b = key.data();
  const auto load64 = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  const auto load32 = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  if (n > 16) return std::memcmp(a, b, n) == 0;
  if (n >= 8) return load64(a) == load64(b) && load64(a + n - 8) == load64(b + n - 8);
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// The last member named `key` of `obj`; false when there is none or the last one is null.
// (The loops below read a member's value only when its key matches: most members are skipped.)
inline bool FindMember(simdjson::dom::object obj, std::string_view key,
                       simdjson::dom::element& out) {
  bool found = false;
  for (auto it = obj.begin(), end = obj.end(); it != end; ++it) {
    if (SameKey(it.key(), key)) {
      const simdjson::dom::element value = it.value();
      found = !value.is_null();
      if (found) out = value;
    }
  }
  return found;
}

// FindMember for several keys in one pass over `obj` (the readers look up most keys of an
// object, and each FindMember walks all of it): Find(i) is FindMember(obj, keys[i]). Sized by
// its keys: `Members m(obj, {"name", "env"})` holds two values.
template <std::size_t N>
class Members {
 public:
  Members(simdjson::dom::object obj, const std::string_view (&keys)[N]) {
    // Bit n set: some key is n bytes long (bit 63: 63 or more). Most members have a length no
    // key has, and one predictable test passes them over (the loop over the keys mispredicts).
    const auto bit = [](std::size_t size) {
      return std::uint64_t{1} << std::min<std::size_t>(size, 63);
    };
    std::uint64_t lengths = 0;
    for (const std::string_view key : keys) lengths |= bit(key.size());
    for (auto it = obj.begin(), end = obj.end(); it != end; ++it) {
      const std::string_view name = it.key();
      if ((lengths & bit(name.size())) == 0) continue;
      for (std::size_t i = 0; i < N; ++i) {
        if (!SameKey(name, keys[i])) continue;
        const simdjson::dom::element value = it.value();
        found_[i] = !value.is_null();  // the last one wins; a null one means absent
        if (found_[i]) values_[i] = value;
        break;
      }
    }
  }
  bool Find(std::size_t key, simdjson::dom::element& out) const {
    if (key >= N || !found_[key]) return false;
    out = values_[key];
    return true;
  }

 private:
  std::array<simdjson::dom::element, N> values_;
  std::array<bool, N> found_{};
};

// The same value as nlohmann::json::parse of the element's text gives (duplicate keys collapse
// to the last one).
nlohmann::json ToJson(simdjson::dom::element value);

// `value` as compact JSON text, then parsed into `dom`: how a value built or parsed with
// nlohmann::json reaches the readers above. Non-UTF-8 text in `value` is replaced (U+FFFD).
Result<simdjson::dom::element> ParseJsonValue(JsonDom& dom, const nlohmann::json& value);

}  // namespace irsa::internal
