// AdmissionReviewer: the body parsed once (json_dom.h), the envelope validated and the object
// admitted on that parse (admission_dom.h), the response written as text.
#include "admission_dom.h"
#include "irsa/admission.h"

namespace irsa {
namespace {

// A parser keeps the buffers of the largest document it has seen; beyond this they are given
// back once the review is done, so one huge (or hostile) request does not pin its memory in the
// reviewers the server keeps idle.
constexpr std::size_t kRetainedParserCapacity = 1 << 20;

}  // namespace

struct AdmissionReviewer::Parser {
  internal::JsonDom dom;
};

AdmissionReviewer::AdmissionReviewer() : parser_(std::make_unique<Parser>()) {}
AdmissionReviewer::~AdmissionReviewer() = default;

std::size_t AdmissionReviewer::parser_capacity() const { return parser_->dom.capacity(); }

Result<AdmissionReviewer::Reviewed> AdmissionReviewer::Review(const Config& config,
                                                              std::string_view body,
                                                              const ServiceAccountLookup* lookup,
                                                              std::size_t readable_past_end) {
  // Runs after the result is built (it copies what it needs out of the parsed document).
  struct ReleaseOversized {
    internal::JsonDom& dom;
    ~ReleaseOversized() { dom.ReleaseIfOver(kRetainedParserCapacity); }
  } release{parser_->dom};

  auto root = parser_->dom.Parse(body, readable_past_end);
  if (!root.ok()) return root.status();
  Reviewed out;
  std::optional<simdjson::dom::element> object;
  if (auto s = internal::DecodeEnvelope(*root, out.request, object); !s.ok()) return s;
  out.result = internal::AdmitObject(config, out.request, object, lookup);
  out.response = EncodeAdmissionResponse(out.request, out.result.mutation);
  return out;
}

}  // namespace irsa
