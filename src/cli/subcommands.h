// The table of subcommands. Each later capability (serve, reconcile, policy) adds one row.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "command.h"

namespace irsa::cli {

struct Subcommand {
  std::string_view name;
  CommandStatus (*run)(const std::vector<std::string>& args);
};

// nullptr when there is no such subcommand.
const Subcommand* FindSubcommand(std::string_view name);

}  // namespace irsa::cli
