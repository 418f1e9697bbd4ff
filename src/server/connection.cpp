#include "connection.h"

#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

namespace irsa::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// Bytes asked of the socket (or OpenSSL) per read: one TLS record's payload.
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;

}  // namespace

Connection::Connection(tcp::socket socket, SSL* ssl, std::string remote)
    : socket_(std::move(socket)), ssl_(ssl), remote_(std::move(remote)) {
  socket_.non_blocking(true);
  if (ssl_ != nullptr) SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
}

Connection::~Connection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

void Connection::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

bool Connection::HasPendingInput() const {
  return end_ > begin_ || (ssl_ != nullptr && SSL_has_pending(ssl_) == 1);
}

void Connection::ReleaseBuffers() {
  if (begin_ != end_) return;
  buffer_.reset();
  capacity_ = begin_ = end_ = 0;
}

asio::awaitable<bool> Connection::AwaitSsl(int result) {
  const int error = SSL_get_error(ssl_, result);
  // The error queue is per thread and shared by every connection of this shard.
  ERR_clear_error();
  if (error == SSL_ERROR_WANT_READ) {
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kAwait);
    co_return !ec;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_write, kAwait);
    co_return !ec;
  }
  co_return false;
}

asio::awaitable<bool> Connection::Handshake() {
  if (ssl_ == nullptr) co_return true;
  for (;;) {
    if (!socket_.is_open()) co_return false;
    ERR_clear_error();
    const int result = SSL_accept(ssl_);
    if (result == 1) co_return true;
    if (!co_await AwaitSsl(result)) co_return false;
  }
}

asio::awaitable<bool> Connection::Receive(std::size_t max_buffered) {
  if (begin_ > 0 && begin_ == end_) begin_ = end_ = 0;
  if (end_ - begin_ >= max_buffered) co_return false;
  // Room for one read: move what is left to the front, grow up to max_buffered.
  if (capacity_ - end_ < kReadChunk && begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < kReadChunk && capacity_ < max_buffered) {
    const std::size_t grown = std::min(max_buffered, std::max(end_ + kReadChunk, capacity_ * 2));
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ = grown;
  }
  const std::size_t room = std::min(capacity_ - end_, kReadChunk);
  if (room == 0) co_return false;
  char* into = buffer_.get() + end_;
  for (;;) {
    if (!socket_.is_open()) co_return false;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, into, static_cast<int>(room));
      if (n > 0) {
        end_ += static_cast<std::size_t>(n);
        co_return true;
      }
      if (!co_await AwaitSsl(n)) co_return false;
    } else {
      boost::system::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(into, room), ec);
      if (!ec && n > 0) {
        end_ += n;
        co_return true;
      }
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
      auto [wait_error] = co_await socket_.async_wait(tcp::socket::wait_read, kAwait);
      if (wait_error) co_return false;
    }
  }
}

asio::awaitable<bool> Connection::WaitForInput() {
  if (HasPendingInput()) co_return true;
  ReleaseBuffers();
  auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, kAwait);
  co_return !ec && socket_.is_open();
}

asio::awaitable<bool> Connection::Send(std::string_view data) {
  while (!data.empty()) {
    if (!socket_.is_open()) co_return false;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, data.data(),
                              static_cast<int>(std::min<std::size_t>(data.size(), 1U << 30)));
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (!co_await AwaitSsl(n)) co_return false;
    } else {
      boost::system::error_code ec;
      const std::size_t n = socket_.write_some(asio::buffer(data.data(), data.size()), ec);
      if (!ec) {
        data.remove_prefix(n);
        continue;
      }
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return false;
      auto [wait_error] = co_await socket_.async_wait(tcp::socket::wait_write, kAwait);
      if (wait_error) co_return false;
    }
  }
  co_return true;
}

void Connection::FinishSending() {
  if (!socket_.is_open()) return;
  if (ssl_ != nullptr) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // one attempt: the alert is a courtesy, the FIN below is what counts
    ERR_clear_error();
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<std::size_t> Connection::DropReceived() {
  // Bytes read per call while dropping.
  constexpr std::size_t kDropChunk = 4096;
  char scratch[kDropChunk];
  for (;;) {
    if (!socket_.is_open()) co_return 0;
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(scratch, sizeof(scratch)), ec);
    if (!ec) co_return n;
    if (ec != asio::error::would_block && ec != asio::error::try_again) co_return 0;
    auto [wait_error] = co_await socket_.async_wait(tcp::socket::wait_read, kAwait);
    if (wait_error) co_return 0;
  }
}

}  // namespace irsa::server
