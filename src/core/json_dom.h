// The one JSON reader of admission input: AdmissionReview bodies (`serve`) and the objects
// `mutate`, the golden cases and the reconciler hand to the rules are all parsed by simdjson
// into a DOM, and read from it by the envelope decoder and the pod reader.
//
// Owns: the nesting limit (kMaxNestingDepth, as ParseJson in document.h), parse errors worded
// for an HTTP 400 body (they never quote the input), duplicate-key resolution as nlohmann::json
// resolves it (the last member wins, and a null member is absent), and the conversion of a DOM
// value to nlohmann::json for the rules that take one (ServiceAccount, PerconaServerMongoDB).
// Never: part of the public headers (include/irsa): simdjson is a private dependency of the
// core, and only the core and its benchmark include this.
// Thread-safety: a JsonDom is not thread-safe (it reuses its buffers); keep one per thread.
// The free functions are pure.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "irsa/admission.h"
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

// The last member named `key` of `obj`; false when there is none or the last one is null.
bool FindMember(simdjson::dom::object obj, std::string_view key, simdjson::dom::element& out);

// FindMember for several keys in one pass over `obj` (the readers look up most keys of an
// object, and each FindMember walks all of it): Find(i) is FindMember(obj, keys[i]).
class Members {
 public:
  static constexpr std::size_t kMaxKeys = 8;
  // At most kMaxKeys keys.
  Members(simdjson::dom::object obj, std::initializer_list<std::string_view> keys);
  bool Find(std::size_t key, simdjson::dom::element& out) const;

 private:
  std::array<simdjson::dom::element, kMaxKeys> values_;
  std::array<bool, kMaxKeys> found_{};
};

// The same value as nlohmann::json::parse of the element's text gives (duplicate keys collapse
// to the last one).
nlohmann::json ToJson(simdjson::dom::element value);

// `value` as compact JSON text, then parsed into `dom`: how a value built or parsed with
// nlohmann::json reaches the readers above. Non-UTF-8 text in `value` is replaced (U+FFFD).
Result<simdjson::dom::element> ParseJsonValue(JsonDom& dom, const nlohmann::json& value);

}  // namespace irsa::internal
