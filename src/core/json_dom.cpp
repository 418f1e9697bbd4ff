#include "json_dom.h"

#include <algorithm>
#include <string>

#include "irsa/constants.h"

namespace irsa::internal {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A parser is sized for the first document it reads, at least this many bytes (a typical
// AdmissionReview is 2-70 KB); its buffers grow on demand for larger ones. Sized lazily: the
// one-shot parsers of Admit and MutatePod then allocate for their object only.
constexpr std::size_t kMinCapacity = std::size_t{16} * 1024;
// RFC 8259 section 8.1: a parser may ignore a leading byte order mark (nlohmann::json, which
// reads `mutate`'s files, does; simdjson does not).
constexpr std::string_view kUtf8ByteOrderMark = "\xef\xbb\xbf";

}  // namespace

JsonDom::JsonDom() { Reset(); }

JsonDom::~JsonDom() = default;

std::size_t JsonDom::capacity() const { return parser_->capacity(); }

void JsonDom::Reset() {
  parser_ = std::make_unique<simdjson::dom::parser>();
  ready_ = false;
}

void JsonDom::ReleaseIfOver(std::size_t bytes) {
  if (parser_->capacity() > bytes) Reset();
}

static_assert(kReviewBodyPadding >= simdjson::SIMDJSON_PADDING,
              "the padding promised to callers covers what simdjson reads past the end");

Result<element> JsonDom::Parse(std::string_view text, std::size_t readable_past_end) {
  if (text.starts_with(kUtf8ByteOrderMark)) text.remove_prefix(kUtf8ByteOrderMark.size());
  // Without its depth limit the parser is never used.
  if (!ready_) {
    ready_ = parser_->allocate(std::max(text.size(), kMinCapacity), kMaxNestingDepth) ==
             simdjson::SUCCESS;
    if (!ready_) {
      Reset();
      return Status::Error("parse error: out of memory");
    }
  }
  element root;
  // Growing the buffers keeps the depth limit (simdjson reallocates with max_depth()).
  const bool in_place = readable_past_end >= kReviewBodyPadding;
  const simdjson::error_code error =
      parser_->parse(text.data(), text.size(), /*realloc_if_needed=*/!in_place).get(root);
  if (error == simdjson::SUCCESS) return root;
  if (error == simdjson::MEMALLOC) Reset();  // a failed growth: start afresh next time
  if (error == simdjson::DEPTH_ERROR) {
    return Status::Error("JSON nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  return Status::Error(std::string("parse error: ") + simdjson::error_message(error));
}

nlohmann::json ToJson(element value) {
  switch (value.type()) {
    case element_type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      simdjson::dom::array items;
      if (value.get_array().get(items) == simdjson::SUCCESS) {
        for (const element item : items) out.push_back(ToJson(item));
      }
      return out;
    }
    case element_type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      simdjson::dom::object members;
      if (value.get_object().get(members) == simdjson::SUCCESS) {
        for (const auto field : members) out[std::string(field.key)] = ToJson(field.value);
      }
      return out;
    }
    case element_type::INT64: {
      // nlohmann::json types a non-negative integer as unsigned.
      const std::int64_t n = value.get_int64().value_unsafe();
      return n >= 0 ? nlohmann::json(static_cast<std::uint64_t>(n)) : nlohmann::json(n);
    }
    case element_type::UINT64:
      return value.get_uint64().value_unsafe();
    case element_type::DOUBLE:
      return value.get_double().value_unsafe();
    case element_type::STRING:
      return std::string(value.get_string().value_unsafe());
    case element_type::BOOL:
      return value.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
      break;
  }
  return nullptr;
}

Result<element> ParseJsonValue(JsonDom& dom, const nlohmann::json& value) {
  return dom.Parse(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace irsa::internal
