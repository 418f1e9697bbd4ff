// A TLS handshake against our own webhook listener, for /readyz (docs/reference.md section 7:
// readiness proves the HTTPS listener answers a TLS handshake, not only that the metrics port is
// up).
//
// Owns: one client socket and SSL object per call, closed before it returns.
// Never: sends an HTTP request (the probe is invisible to the request metrics and logs),
// verifies the certificate (a rotation in progress must not flap readiness), or blocks longer
// than its timeout.
// Thread-safety: any thread; calls share nothing.
#pragma once

#include <chrono>
#include <string>

#include "irsa/status.h"

namespace irsa::server {

// The address a local client uses to reach a listener bound to `bind_address`: the loopback
// address of the same family for a wildcard ("0.0.0.0", "::", ""), else the address itself.
std::string ProbeAddress(const std::string& bind_address);

// Connects to address:port and runs a TLS handshake. Succeeds when the handshake completes or
// the server has sent its certificate (a server that requires client certificates ends the
// handshake after that, which still proves the listener answers). Errors say what failed
// (connect, timeout, no certificate).
Status ProbeTlsHandshake(const std::string& address, int port, std::chrono::milliseconds timeout);

}  // namespace irsa::server
