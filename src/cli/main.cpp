// irsa-webhook: the composition root. Picks the subcommand, and is the only place that turns a
// result into an exit code (0 ok, 1 runtime/input error, 2 usage error). Exceptions that escape
// a library are caught here and become one line on stderr. Process-wide settings are made here,
// first (process_setup.h), and nowhere else in the binary.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "mutate_command.h"
#include "process_setup.h"
#include "subcommands.h"

namespace {

constexpr const char* kUsage =
    "Usage: irsa-webhook <command> [flags]\n"
    "\n"
    "IRSA mutating admission webhook: gives pods AWS IAM Roles for Service Accounts from a\n"
    "declarative config.\n"
    "\n"
    "Commands:\n"
    "  serve       run the HTTPS admission server\n"
    "  mutate      offline preview: one object or AdmissionReview through the serve code path\n"
    "  reconcile   annotate existing ServiceAccounts; optionally roll workloads lacking injection\n"
    "  check       read-only end-to-end verification through the API server (dry-run pods)\n"
    "  policy      print least-privilege IAM trust (policy trust) and S3 (policy s3) documents\n"
    "  version     print the version\n"
    "\n"
    "Run 'irsa-webhook <command> --help' for the flags of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  using irsa::cli::CommandStatus;
  irsa::cli::PrepareProcess();
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string& command = all[0];
  const std::vector<std::string> args(all.begin() + 1, all.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  CommandStatus status;
  try {
    const irsa::cli::Subcommand* sub = irsa::cli::FindSubcommand(command);
    if (sub == nullptr) {
      std::cerr << "irsa-webhook: unknown command \"" << command << "\"\n\n" << kUsage;
      return 2;
    }
    status = sub->run(args);
  } catch (const std::exception& e) {
    status = CommandStatus::Runtime(std::string("unexpected error: ") + e.what());
  }
  int code = 1;
  switch (status.kind) {
    case CommandStatus::Kind::kOk:
      code = 0;
      break;
    case CommandStatus::Kind::kRuntimeError:
      std::cerr << "irsa-webhook " << command << ": " << status.message << "\n";
      code = 1;
      break;
    case CommandStatus::Kind::kUsageError:
      std::cerr << "irsa-webhook " << command << ": " << status.message << "\n";
      code = 2;
      break;
  }
  return code;
}
