// What each webhook connection is doing, so that stalled ones can be closed and idle ones can be
// closed at once on shutdown.
//
// cpp-httplib 0.11 only has per-read timeouts: a client that trickles one byte every few
// seconds (slowloris) would hold a worker thread forever, and an idle keep-alive connection
// delays shutdown until its keep-alive timeout. The tracker fills that gap without patching
// the library: every worker thread owns a Slot (thread_local); TLS callbacks on that thread
// (handshake start, record received) and the HTTP handlers (request complete, response sent)
// move the slot between states, and the housekeeping thread reads the states and shuts down
// (shutdown(2)) the sockets of connections that overstayed.
//
// It also bounds what a request may send without the server making progress on it:
// cpp-httplib 0.11 buffers a request line, a header line or a chunk-size line of any length
// and any number of headers, so a client streaming one endless header grew the server by
// hundreds of MB within the request deadline. The record callback counts the bytes of every
// TLS record read while a request arrives; the connection is shut down once more than
// kRequestHeadAllowance arrive before the headers are complete, or between two pieces of body
// handed to the handler (plus the declared Content-Length of a body cpp-httplib reads itself).
//
// Owns: one Slot per worker thread, a duplicate descriptor of the connection's socket (so a
// shutdown never hits a reused descriptor number), and the state machine
//   handshake -> idle -> reading -> handling -> idle ...
// Never: closes the connection's own descriptor or touches its SSL object; a request being
// handled is never interrupted.
// Thread-safety: On*() run on the connection's own worker thread; CloseStalled(), CloseIdle()
// and Counts() from any thread.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>

namespace irsa::server {

// Request line and headers of up to 64 KiB, plus the TLS record (at most 16 KiB of payload and
// its overhead) that carries their end together with the start of the body. Go's net/http
// allows 1 MB of headers; the kube-apiserver sends a few hundred bytes.
inline constexpr std::uint64_t kRequestHeadAllowance = 96 * 1024;

class ConnectionTracker {
 public:
  enum class State : int { kNone, kHandshake, kIdle, kReading, kHandling };
  struct Counts {
    std::size_t open = 0;
    std::size_t idle = 0;
  };

  ConnectionTracker() = default;
  ConnectionTracker(const ConnectionTracker&) = delete;
  ConnectionTracker& operator=(const ConnectionTracker&) = delete;

  // Worker-thread lifecycle (called by WorkerPool on the worker thread itself).
  void AttachThread();
  void DetachThread();
  // After each task: forget the connection the task served and close the duplicate descriptor.
  static void EndTask();

  // Installs the handshake and record callbacks on the webhook listener's SSL_CTX.
  static void InstallTlsCallbacks(SSL_CTX& ctx);

  // Called by handlers on the connection's thread. No-ops on threads without a slot.
  // The request line and headers have been parsed; `body_bytes` is what cpp-httplib itself
  // will read of the body (its declared Content-Length), beyond kRequestHeadAllowance.
  static void OnHeadersComplete(std::uint64_t body_bytes);
  static void OnBodyProgress();     // the handler received a piece of the body
  static void OnRequestComplete();  // headers and body read; the handler runs
  static void OnResponseSent();     // back to idle; closes the socket if CloseAfterResponse()
  // The request body was not (fully) read, so the connection cannot carry another request.
  static void CloseAfterResponse();

  // Shuts down connections that have been in handshake or reading state for longer than
  // `deadline`. Returns how many.
  std::size_t CloseStalled(std::chrono::steady_clock::duration deadline);
  // Shuts down connections waiting for their next request (for shutdown). Returns how many.
  std::size_t CloseIdle();
  Counts counts() const;
  // Connections shut down for sending more than their allowance, since the last call.
  std::size_t TakeOversizedClosed();

 private:
  struct Slot {
    ConnectionTracker* owner = nullptr;
    int fd = -1;  // our duplicate of the connection socket; guarded by owner->mutex_
    std::atomic<State> state{State::kNone};
    std::atomic<std::int64_t> since_ns{0};  // steady_clock time of the last state change
    bool close_after_response = false;      // only touched by the slot's thread
    std::uint64_t received =
        0;  // record bytes since the headers began or the last progress; slot's thread only
    std::uint64_t allowance = 0;  // how many may arrive; slot's thread only
  };

  static void InfoCallback(const SSL* ssl, int where, int ret);
  static void MessageCallback(int write_p, int version, int content_type, const void* buf,
                              std::size_t len, SSL* ssl, void* arg);
  static void SetState(Slot& slot, State state);
  static std::int64_t NowNs();

  static void StartReading(Slot& slot);

  mutable std::mutex mutex_;
  std::list<Slot> slots_;  // stable addresses
  std::atomic<std::size_t> oversized_closed_{0};
};

}  // namespace irsa::server
