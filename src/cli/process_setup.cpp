#include "process_setup.h"

#include <sys/resource.h>

#include <csignal>
#ifdef IRSA_HAVE_OPENSSL
#include <openssl/crypto.h>
#endif

namespace irsa::cli {

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

}  // namespace irsa::cli
