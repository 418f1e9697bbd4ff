#include "connection_tracker.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace irsa::server {
namespace {

// The slot of the worker thread running this code; null on other threads.
thread_local void* current_slot = nullptr;

}  // namespace

std::int64_t ConnectionTracker::NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ConnectionTracker::SetState(Slot& slot, State state) {
  slot.since_ns.store(NowNs(), std::memory_order_relaxed);
  slot.state.store(state, std::memory_order_release);
}

void ConnectionTracker::AttachThread() {
  std::lock_guard<std::mutex> lock(mutex_);
  slots_.emplace_back();
  Slot& slot = slots_.back();
  slot.owner = this;
  current_slot = &slot;
}

void ConnectionTracker::DetachThread() {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot == nullptr) return;
  current_slot = nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  if (slot->fd >= 0) ::close(slot->fd);
  slots_.remove_if([slot](const Slot& s) { return &s == slot; });
}

void ConnectionTracker::EndTask() {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot == nullptr) return;
  std::lock_guard<std::mutex> lock(slot->owner->mutex_);
  if (slot->fd >= 0) {
    ::close(slot->fd);
    slot->fd = -1;
  }
  slot->close_after_response = false;
  SetState(*slot, State::kNone);
}

void ConnectionTracker::InstallTlsCallbacks(SSL_CTX& ctx) {
  SSL_CTX_set_info_callback(&ctx, &ConnectionTracker::InfoCallback);
  SSL_CTX_set_msg_callback(&ctx, &ConnectionTracker::MessageCallback);
}

void ConnectionTracker::InfoCallback(const SSL* ssl, int where, int /*ret*/) {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot == nullptr) return;
  if ((where & SSL_CB_HANDSHAKE_START) != 0 &&
      slot->state.load(std::memory_order_relaxed) == State::kNone) {
    const int fd = SSL_get_fd(ssl);
    std::lock_guard<std::mutex> lock(slot->owner->mutex_);
    if (slot->fd < 0 && fd >= 0) slot->fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    SetState(*slot, State::kHandshake);
  } else if ((where & SSL_CB_HANDSHAKE_DONE) != 0 &&
             slot->state.load(std::memory_order_relaxed) == State::kHandshake) {
    SetState(*slot, State::kIdle);
  }
}

void ConnectionTracker::StartReading(Slot& slot) {
  slot.received = 0;
  slot.allowance = kRequestHeadAllowance;
  SetState(slot, State::kReading);
}

void ConnectionTracker::MessageCallback(int write_p, int /*version*/, int content_type,
                                        const void* buf, std::size_t len, SSL* /*ssl*/,
                                        void* /*arg*/) {
  // Every TLS record read from the peer reports its header; the first one after a response
  // means the next request has started to arrive.
  if (write_p != 0 || content_type != SSL3_RT_HEADER || len < SSL3_RT_HEADER_LENGTH) return;
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot == nullptr) return;
  const State state = slot->state.load(std::memory_order_relaxed);
  if (state == State::kIdle) StartReading(*slot);
  if (state != State::kIdle && state != State::kReading) return;
  // Record header: type (1), version (2), payload length (2, big endian).
  const auto* header = static_cast<const unsigned char*>(buf);
  slot->received += (static_cast<std::uint64_t>(header[3]) << 8U) | header[4];
  if (slot->received <= slot->allowance) return;
  // More than the request may send before the server sees progress: end the connection (the
  // pending read sees EOF and cpp-httplib closes the socket). With SO_LINGER 0 that close is a
  // reset: a FIN would leave a client that keeps sending stuck against a closed receive window
  // until the kernel's FIN_WAIT2 timeout. Once per connection.
  std::lock_guard<std::mutex> lock(slot->owner->mutex_);
  if (slot->fd >= 0) {
    const linger reset{1, 0};
    ::setsockopt(slot->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    ::shutdown(slot->fd, SHUT_RD);
    ::close(slot->fd);
    slot->fd = -1;
    slot->owner->oversized_closed_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ConnectionTracker::OnHeadersComplete(std::uint64_t body_bytes) {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot == nullptr) return;
  // A pipelined request may have arrived in the record that ended the previous one, with the
  // slot still idle: it is being read now.
  if (slot->state.load(std::memory_order_relaxed) == State::kIdle) StartReading(*slot);
  slot->received = 0;
  slot->allowance = kRequestHeadAllowance + body_bytes;
}

void ConnectionTracker::OnBodyProgress() {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot != nullptr) slot->received = 0;
}

void ConnectionTracker::OnRequestComplete() {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot != nullptr) SetState(*slot, State::kHandling);
}

void ConnectionTracker::OnResponseSent() {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot == nullptr) return;
  SetState(*slot, State::kIdle);
  if (slot->close_after_response) {
    std::lock_guard<std::mutex> lock(slot->owner->mutex_);
    if (slot->fd >= 0) ::shutdown(slot->fd, SHUT_RDWR);
  }
}

void ConnectionTracker::CloseAfterResponse() {
  auto* slot = static_cast<Slot*>(current_slot);
  if (slot != nullptr) slot->close_after_response = true;
}

std::size_t ConnectionTracker::CloseStalled(std::chrono::steady_clock::duration deadline) {
  const std::int64_t now = NowNs();
  const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline).count();
  std::size_t closed = 0;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& slot : slots_) {
    const State state = slot.state.load(std::memory_order_acquire);
    if (slot.fd < 0 || (state != State::kHandshake && state != State::kReading)) continue;
    if (now - slot.since_ns.load(std::memory_order_relaxed) <= limit) continue;
    ::shutdown(slot.fd, SHUT_RDWR);
    ::close(slot.fd);  // one shutdown per connection is enough
    slot.fd = -1;
    ++closed;
  }
  return closed;
}

std::size_t ConnectionTracker::CloseIdle() {
  std::size_t closed = 0;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& slot : slots_) {
    if (slot.fd < 0 || slot.state.load(std::memory_order_acquire) != State::kIdle) continue;
    // Bytes waiting in the socket: a request arrived that the worker has not started to read
    // yet. It is not idle; closing it would drop a request the client already sent (and the
    // kube-apiserver does not retry a POST).
    int pending = 0;
    if (::ioctl(slot.fd, FIONREAD, &pending) == 0 && pending > 0) continue;
    ::shutdown(slot.fd, SHUT_RDWR);
    ::close(slot.fd);
    slot.fd = -1;
    ++closed;
  }
  return closed;
}

std::size_t ConnectionTracker::TakeOversizedClosed() { return oversized_closed_.exchange(0); }

ConnectionTracker::Counts ConnectionTracker::counts() const {
  Counts c;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& slot : slots_) {
    const State state = slot.state.load(std::memory_order_relaxed);
    if (state == State::kNone) continue;
    ++c.open;
    if (state == State::kIdle) ++c.idle;
  }
  return c;
}

}  // namespace irsa::server
