// The AdmissionReview protocol on a parsed document (json_dom.h): the one envelope validation
// and the one routing of a request to the rules, shared by AdmissionReviewer::Review (`serve`)
// and by DecodeAdmissionReview / Admit (`mutate`, previews, golden cases).
//
// Never: part of the public headers (include/irsa); only the core and its benchmark include this.
// Thread-safety: pure functions.
#pragma once

#include <optional>

#include "irsa/admission.h"
#include "json_dom.h"

namespace irsa::internal {

// Validates the AdmissionReview envelope `root` into `r` (its `object` is left alone);
// `object_out` receives request.object when present (it may be null). Errors are for an HTTP 400
// body.
Status DecodeEnvelope(simdjson::dom::element root, AdmissionRequest& r,
                      std::optional<simdjson::dom::element>& object_out);

// Admit() for a request whose object is `object` (nullopt: absent); request.object is not read.
AdmissionResult AdmitObject(const Config& config, const AdmissionRequest& request,
                            std::optional<simdjson::dom::element> object,
                            const ServiceAccountLookup* lookup);

}  // namespace irsa::internal
