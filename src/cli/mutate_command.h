// `irsa-webhook mutate`: offline preview through the same Admit() path as `serve`.
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace irsa::cli {

CommandStatus RunMutate(const std::vector<std::string>& args);

}  // namespace irsa::cli
