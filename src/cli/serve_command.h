// `irsa-webhook serve`: flags -> irsa::server::Serve(), and the place where Kubernetes access
// (a ServiceAccount cache) is plugged in when this build has it.
// Never: picks an exit code (main does) or serves anything itself.
// Thread-safety: called once, from main.
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace irsa::cli {

CommandStatus RunServe(const std::vector<std::string>& args);

}  // namespace irsa::cli
