#include "command.h"

namespace irsa::cli {

std::optional<CommandStatus> ParseCommandLine(Flags& flags, const std::vector<std::string>& args,
                                              std::ostream& out) {
  if (auto error = flags.Parse(args)) return CommandStatus::Usage(*error + "\n" + flags.Help());
  if (flags.help_requested()) {
    out << flags.Help();
    return CommandStatus::Ok();
  }
  if (!flags.positional().empty())
    return CommandStatus::Usage("unexpected argument " + flags.positional()[0]);
  return std::nullopt;
}

Result<Config> LoadConfigFlag(const Flags& flags) {
  if (!flags.Has("config")) return Config{};
  return LoadConfigFile(flags.Get("config"));
}

}  // namespace irsa::cli
