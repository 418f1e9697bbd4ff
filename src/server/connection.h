// One accepted connection of the event-driven listeners: a non-blocking socket, OpenSSL on its
// descriptor when the port speaks TLS, the bytes received and not yet parsed, and the deadline
// of what it is doing now.
//
// Owns: the socket and the SSL object (OpenSSL reads and writes the descriptor itself: no BIO
// pair and no copy buffers, so with SSL_MODE_RELEASE_BUFFERS an idle connection holds a few KB),
// the input buffer (grown on demand up to a cap, released while idle), the phase and deadline
// that the owning shard's sweeper enforces.
// Never: parses HTTP, decides what to answer, or is touched from a thread other than its
// io_context's.
// Thread-safety: one thread (the shard's).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list_hook.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace irsa::server {

enum class Phase {
  kHandshake,  // TLS handshake: its deadline is a stall
  kIdle,       // between requests (keep-alive)
  kReading,    // a request is arriving: its deadline is a stall
  kHandling,   // the rules run: no deadline
  kWriting,    // the answer is being taken by the client
  kLingering,  // answer sent, connection closing: what the client still sends is dropped
};

class Connection : public boost::intrusive::list_base_hook<
                       boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  using Clock = std::chrono::steady_clock;

  // `ssl` may be null (plain HTTP); the connection owns and frees it.
  Connection(boost::asio::ip::tcp::socket socket, SSL* ssl, std::string remote);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The TLS handshake (a no-op in plain HTTP). False: failed or closed.
  boost::asio::awaitable<bool> Handshake();
  // Receives more bytes into input(); false at end of stream, on an error or once the buffer
  // holds `max_buffered` bytes.
  boost::asio::awaitable<bool> Receive(std::size_t max_buffered);
  // Waits until the client sends again, holding no buffer meanwhile. False: closed.
  boost::asio::awaitable<bool> WaitForInput();
  // Writes all of `data`. False: the client went away (or the deadline closed the socket).
  boost::asio::awaitable<bool> Send(std::string_view data);

  // After the last answer: TLS close_notify (when writable at once) and a TCP half-close.
  void FinishSending();
  // Reads and drops what arrives (raw bytes, not decrypted). 0: end of stream, error or closed.
  boost::asio::awaitable<std::size_t> DropReceived();

  // Received bytes not yet consumed by the parser.
  std::string_view input() const { return {buffer_.get() + begin_, end_ - begin_}; }
  void Consume(std::size_t n) { begin_ += n; }
  // True when bytes are waiting here or inside OpenSSL (a pipelined request).
  bool HasPendingInput() const;
  // Gives the input buffer back (between requests, when it is empty).
  void ReleaseBuffers();

  void Enter(Phase phase, Clock::time_point deadline) {
    phase_ = phase;
    deadline_ = deadline;
  }
  void Enter(Phase phase) { Enter(phase, Clock::time_point::max()); }
  Phase phase() const { return phase_; }
  Clock::time_point deadline() const { return deadline_; }
  // Closes the socket: a pending operation ends with false.
  void Close();
  bool closed() const { return !socket_.is_open(); }
  const std::string& remote() const { return remote_; }

 private:
  // Waits for what OpenSSL asked for after `result` of an SSL call; false: give up.
  boost::asio::awaitable<bool> AwaitSsl(int result);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_;
  std::string remote_;
  std::unique_ptr<char[]> buffer_;  // input: [begin_, end_) not yet consumed
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  Phase phase_ = Phase::kHandshake;
  Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace irsa::server
