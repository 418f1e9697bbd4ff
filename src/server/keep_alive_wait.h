// How a webhook connection waits for its next keep-alive request.
//
// cpp-httplib 0.11 waits in httplib::detail::keep_alive(), a loop of poll(2) with a 10 ms
// timeout followed by a 1 ms sleep: every idle keep-alive connection wakes its thread about 90
// times a second, and a request that arrives during the sleep waits for it. Measured with 256
// wrk connections on 2 cores: 1.6 sleeps and 7.7 polls per request, and ~20% of the server's
// cycles in the scheduler. The library is Debian's compiled libcpp-httplib.so, which calls that
// function through its PLT, so the executable's definition (keep_alive_wait.cpp) takes its place
// by ordinary symbol interposition (the same mechanism as a malloc replacement): one poll(2)
// for the whole keep-alive timeout, the same result.
//
// Owns: the wait only (readable, or the timeout passed). Never: reads the socket.
// Thread-safety: called on the connection's own worker thread; no shared state.
#pragma once

#include <ctime>

namespace httplib::detail {

// cpp-httplib 0.11's signature: true when `sock` is readable (a request, EOF or an error, which
// the caller reads), false once `keep_alive_timeout_sec` passed without anything to read.
bool keep_alive(int sock, std::time_t keep_alive_timeout_sec);

}  // namespace httplib::detail

namespace irsa::server {

// True when cpp-httplib's keep-alive wait resolves to ours (the executable exports it and the
// dynamic linker bound the library's calls to it). Logged at startup; checked by a test.
bool KeepAliveWaitInterposed();

}  // namespace irsa::server
