// Standard base64 (RFC 4648) decoding for kubeconfig "-data" fields.
//
// Never: throws. Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace irsa::kube {

// Decodes base64 with or without padding; whitespace (line breaks) is ignored. nullopt when the
// text is not base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace irsa::kube
