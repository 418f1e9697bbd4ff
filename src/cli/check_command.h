// `irsa-webhook check [--config F] [--kubeconfig F] [-o text|json]` (docs/reference.md section 7):
// read-only end-to-end verification through the API server (src/kube/injection_check.h).
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace irsa::cli {

CommandStatus RunCheck(const std::vector<std::string>& args);

}  // namespace irsa::cli
