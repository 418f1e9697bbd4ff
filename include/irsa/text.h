// Text: quoting a value in a message, trimming whitespace, base64.
//
// Owns: the one way each module does these, so every message quotes a name alike and every
// base64 field (the AdmissionReview patch, Secret data, kubeconfig "-data" fields) is written
// and read by the same code.
// Never: depends on the locale (ASCII rules only); throws.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace irsa {

// `value` in double quotes, as messages show a name a user typed: binding "psmdb". Nothing is
// escaped: the value is shown as written.
std::string Quote(std::string_view value);

// `text` without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
std::string_view Trim(std::string_view text);

// Standard base64 (RFC 4648, with padding), as the AdmissionReview patch field requires.
std::string Base64Encode(std::string_view data);
// The same appended to `out` (a response is written into one buffer).
void AppendBase64(std::string& out, std::string_view data);

// Decodes standard base64 with or without padding; whitespace (line breaks) is ignored. nullopt
// when the text is not base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace irsa
