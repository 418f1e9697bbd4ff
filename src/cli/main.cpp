// irsa-webhook: the composition root. Picks the subcommand, and is the only place that turns a
// result into an exit code (0 ok, 1 runtime/input error, 2 usage error). Exceptions that escape
// a library are caught here and become one line on stderr. Process-wide settings are made here
// and nowhere else.
#include <sys/resource.h>
#ifdef IRSA_HAVE_OPENSSL
#include <openssl/crypto.h>
#endif

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "mutate_command.h"
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

// Process-wide settings, before any other thread or OpenSSL use:
// - SIGPIPE ignored: a peer that closes its end turns a write into an error, not a dead process;
// - OpenSSL without its atexit cleanup: `serve` may end with a connection still in OpenSSL;
// - the soft limit of open files raised to the hard limit, as the Go runtime does for every Go
//   server (the kube-apiserver included): each connection holds a descriptor, and a soft limit
//   of 1024 (a common default) would stop `serve` accepting at about a thousand.
void PrepareProcess() {
#ifdef IRSA_HAVE_OPENSSL
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
#endif
  std::signal(SIGPIPE, SIG_IGN);
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using irsa::cli::CommandStatus;
  PrepareProcess();
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
