// Process-wide settings every executable of ours makes first, before any other thread starts or
// OpenSSL is used: the irsa-webhook binary's main and the test binaries' main.
// Owns: nothing. Never: called from a library; a library must not change process-wide state.
// Thread-safety: call once, from main, before other threads exist.
#pragma once

namespace irsa::cli {

// - SIGPIPE ignored: OpenSSL writes with write(2), not send(MSG_NOSIGNAL), so a peer that closed
//   its end (a cancelled watch, a client gone mid-answer) would otherwise kill the process;
// - OpenSSL without its atexit cleanup: `serve` may end with a connection still in OpenSSL;
// - the soft limit of open files raised to the hard limit, as the Go runtime does for every Go
//   server (the kube-apiserver included): each connection holds a descriptor, and a soft limit
//   of 1024 (a common default) would stop `serve` accepting at about a thousand.
void PrepareProcess();

}  // namespace irsa::cli
