// ReadPod over a simdjson DOM element: the server's hot path (see pod_view.h for the contract).
// Kept out of pod_view.h so only the files that parse with simdjson include it.
#pragma once

#include <simdjson.h>

#include "pod_view.h"

namespace irsa::internal {

// The last member named `key` whose value is not null, as nlohmann::json resolves duplicate keys
// (the last one wins) and as the rules treat null (absent). Both fast-path readers use it.
bool FindMember(simdjson::dom::object obj, std::string_view key, simdjson::dom::element& out);

// The same view as ReadPod(const nlohmann::json&) for every pod that reader accepts. Any error
// means "use the nlohmann path", which owns the error messages.
Result<PodView> ReadPod(simdjson::dom::element pod);

}  // namespace irsa::internal
