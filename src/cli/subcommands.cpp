#include "subcommands.h"

#include <iostream>

#include "mutate_command.h"
#include "policy_command.h"
#ifdef IRSA_HAVE_KUBE
#include "certificates_command.h"
#include "check_command.h"
#include "reconcile_command.h"
#endif
#ifdef IRSA_HAVE_SERVER
#include "serve_command.h"
#endif

namespace irsa::cli {
namespace {

CommandStatus RunVersion(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] != "--help" && args[0] != "-h") {
    return CommandStatus::Usage("version takes no arguments");
  }
  std::cout << "irsa-webhook " << IRSA_VERSION << "\n";
  return CommandStatus::Ok();
}

constexpr Subcommand kSubcommands[] = {
#ifdef IRSA_HAVE_KUBE
    {"check", RunCheck},
#endif
    {"mutate", RunMutate},
    {"policy", RunPolicy},
#ifdef IRSA_HAVE_KUBE
    {"certificates", RunCertificates},
    {"reconcile", RunReconcile},
#endif
#ifdef IRSA_HAVE_SERVER
    {"serve", RunServe},
#endif
    {"version", RunVersion},
};

}  // namespace

const Subcommand* FindSubcommand(std::string_view name) {
  for (const auto& sub : kSubcommands) {
    if (sub.name == name) return &sub;
  }
  return nullptr;
}

}  // namespace irsa::cli
