// `irsa-webhook reconcile`: annotate existing ServiceAccounts and, on request, roll the
// workloads whose pods lack injection (docs/reference.md section 7). The plan is
// src/kube/reconciler; this file parses flags, resolves Kubernetes access, and prints the report
// (text or JSON).
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace irsa::cli {

CommandStatus RunReconcile(const std::vector<std::string>& args);

}  // namespace irsa::cli
