#include "event_server.h"

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/intrusive/list.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "connection.h"
#include "irsa/admission.h"
#include "logging.h"
#include "metrics.h"

namespace irsa::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// An idle keep-alive connection is closed after this long (the kube-apiserver opens a new one).
constexpr std::chrono::seconds kKeepAliveTimeout{10};
// An answer must be taken by the client within this time.
constexpr std::chrono::seconds kWriteTimeout{10};
// Requests per connection; the last answer says "Connection: close".
constexpr std::size_t kMaxRequestsPerConnection = 1000;
// Bytes buffered for a request head or a chunk-size line: the head limit plus one read.
constexpr std::size_t kMaxBufferedBytes = kMaxRequestHeadBytes + std::size_t{16} * 1024;
// A body refused from its head (404, 405, 413, 415...) up to this size is read and dropped,
// so the connection can carry the next request; beyond it the connection closes.
constexpr std::uint64_t kMaxDrainBytes = 64ULL * 1024 * 1024;
// After an answer that ends the connection, what the client still sends is read and dropped
// for this long or this much, so that its unread bytes do not make the kernel reset the
// connection before the client has read the answer.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
// Connections ended on a loop after which its next sweep trims the heap.
constexpr std::size_t kTrimAfterClosed = 64;
// How often each loop checks the deadlines of its connections.
constexpr std::chrono::milliseconds kSweepInterval{250};
// Requests arriving on the operations port when it stops get this much more time.
constexpr std::chrono::seconds kOperationsStopGrace{1};
// Accept failures for lack of descriptors or memory: wait this long before trying again.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// Threads for reviews that may wait on the Kubernetes API (a ServiceAccount cache miss waits up
// to about a second); the loops hand such reviews over and go on serving.
constexpr std::size_t kReviewThreads = 4;
// Pending connections the kernel queues per listening socket.
constexpr int kListenBacklog = 4096;
// How often waits on the owning thread re-check their condition.
constexpr std::chrono::milliseconds kPollInterval{20};

// A request body kept up to `limit` bytes; the bytes beyond it are counted and dropped.
struct CappedBody {
  struct value_type {  // NOLINT(readability-identifier-naming): Beast's Body concept
    std::string data;
    std::uint64_t limit = 0;
    std::uint64_t received = 0;
  };

  class reader {  // NOLINT(readability-identifier-naming): Beast's Body concept
   public:
    template <bool kIsRequest, class Fields>
    reader(http::header<kIsRequest, Fields>& /*head*/, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) {
      // With room for the parser to read past the end, the review reads the body in place.
      if (length && *length <= body_.limit)
        body_.data.reserve(static_cast<std::size_t>(*length) + kReviewBodyPadding);
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      std::size_t taken = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        const asio::const_buffer piece = *it;
        taken += piece.size();
        body_.received += piece.size();
        if (body_.received <= body_.limit) {
          body_.data.append(static_cast<const char*>(piece.data()), piece.size());
        } else if (body_.data.capacity() > 0) {
          std::string().swap(body_.data);
        }
      }
      ec = {};
      return taken;
    }

    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using RequestParser = http::request_parser<CappedBody>;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::optional<std::string_view> Header(const RequestParser& parser, http::field field) {
  const auto& fields = parser.get();
  const auto it = fields.find(field);
  if (it == fields.end()) return std::nullopt;
  return View(it->value());
}

RequestHead HeadOf(const RequestParser& parser, const std::string& remote) {
  RequestHead head;
  head.method = View(parser.get().method_string());
  head.target = View(parser.get().target());
  head.content_length = Header(parser, http::field::content_length);
  head.transfer_encoding = Header(parser, http::field::transfer_encoding);
  head.content_type = Header(parser, http::field::content_type);
  head.content_encoding = Header(parser, http::field::content_encoding);
  head.remote = remote;
  return head;
}

bool ExpectsContinue(const RequestParser& parser) {
  const auto expect = Header(parser, http::field::expect);
  return expect && boost::beast::iequals(*expect, "100-continue");
}

std::string RemoteOf(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// What reading one request ended with.
struct Exchange {
  enum class End { kAnswer, kGone };
  End end = End::kGone;
  Response response;
  bool close = false;         // the connection ends after the answer
  bool head_request = false;  // HEAD: no body in the answer
  bool oversized = false;     // ended for a head or chunk-size line over the limit
};

using ConnectionList =
    boost::intrusive::list<Connection, boost::intrusive::constant_time_size<false>>;

// One event loop: its thread, its io_context, its acceptors and its connections. The
// connection lists come first: the io_context's destruction ends the coroutines that unlink
// their connections from them.
struct Shard {
  explicit Shard(std::size_t number) : index(number), io(1), sweeper(io) {}
  std::size_t index;
  std::size_t connections = 0;        // open on this loop, both ports
  std::size_t closed_since_trim = 0;  // connections ended since the heap was last trimmed
  ConnectionList webhook_connections;
  ConnectionList operations_connections;
  asio::io_context io;
  std::optional<tcp::acceptor> webhook;
  std::optional<tcp::acceptor> operations;  // shard 0 only
  asio::steady_timer sweeper;
  std::thread thread;
  std::atomic<bool> running{false};
};

}  // namespace

class EventServer::Impl {
 public:
  Impl(EventServerOptions options, SSL_CTX* tls, WebhookHandler& webhook,
       OperationsState operations, Metrics& metrics, Logger& logger)
      : options_(std::move(options)),
        tls_(tls),
        webhook_(webhook),
        operations_(std::move(operations)),
        metrics_(metrics),
        logger_(logger),
        review_pool_(kReviewThreads) {
    const std::size_t shards = options_.shards == 0 ? DefaultShards() : options_.shards;
    for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>(i));
  }

  ~Impl() { Stop(Clock::now()); }

  Status Bind() {
    // SO_REUSEPORT lets every loop have its own listening socket; it would also let a second
    // server that sets it share the port unnoticed. A plain bind first refuses a port in use.
    int port = options_.webhook_port;
    if (auto s = CheckPortFree(port); !s.ok()) return s;
    for (auto& shard : shards_) {
      auto acceptor = Listen(shard->io, port, /*reuse_port=*/true);
      if (!acceptor.ok()) return acceptor.status();
      if (port == 0) port = acceptor->local_endpoint().port();
      shard->webhook.emplace(std::move(*acceptor));
    }
    if (options_.operations_port != 0) {
      auto acceptor = Listen(shards_[0]->io, options_.operations_port, /*reuse_port=*/false);
      if (!acceptor.ok()) return acceptor.status();
      shards_[0]->operations.emplace(std::move(*acceptor));
    }
    return Status::Ok();
  }

  void Start() {
    for (auto& shard_ptr : shards_) {
      Shard& shard = *shard_ptr;
      Spawn(shard, AcceptLoop(shard, *shard.webhook, /*tls=*/true));
      Sweep(shard);
      shard.running.store(true);
      shard.thread = std::thread([this, &shard] { Run(shard); });
    }
    started_ = true;
  }

  void StartOperations() {
    Shard& first = *shards_[0];
    if (first.operations) Spawn(first, AcceptLoop(first, *first.operations, /*tls=*/false));
  }

  bool Healthy() const {
    if (stopping_.load()) return true;
    for (const auto& shard : shards_) {
      if (!shard->running.load()) return false;
    }
    return true;
  }

  void BeginShutdown() { shutting_down_.store(true); }

  void BeginDrain() {
    shutting_down_.store(true);
    draining_.store(true);
    for (auto& shard_ptr : shards_) {
      Shard& shard = *shard_ptr;
      asio::post(shard.io, [&shard] {
        boost::system::error_code ignored;
        if (shard.webhook) shard.webhook->close(ignored);
        for (Connection& c : shard.webhook_connections) {
          if (c.phase() == Phase::kIdle) c.Close();
        }
      });
    }
  }

  bool WaitWebhookDrained(Clock::time_point deadline) {
    while (open_webhook_.load() > 0) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(kPollInterval);
    }
    return true;
  }

  void Stop(Clock::time_point deadline) {
    if (!started_ || stopped_) return;
    stopping_.store(true);
    Shard& first = *shards_[0];
    asio::post(first.io, [&first, deadline] {
      boost::system::error_code ignored;
      if (first.operations) first.operations->close(ignored);
      const auto grace = Clock::now() + kOperationsStopGrace;
      for (Connection& c : first.operations_connections) {
        if (c.phase() == Phase::kWriting) {
          c.Enter(c.phase(), std::min(c.deadline(), deadline));
        } else {
          c.Enter(c.phase(), std::min(c.deadline(), grace));
        }
      }
    });
    while (open_operations_.load() > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(kPollInterval);
    }
    for (auto& shard : shards_) shard->io.stop();
    for (auto& shard : shards_) {
      if (shard->thread.joinable()) shard->thread.join();
    }
    // Reviews handed over may still run; they refer to connections the loops own.
    review_pool_.join();
    stopped_ = true;
  }

  std::size_t open_connections() const { return open_webhook_.load(); }
  std::size_t shard_count() const { return shards_.size(); }

 private:
  Status CheckPortFree(int port) {
    if (port == 0) return Status::Ok();
    asio::io_context io;
    auto probe = Listen(io, port, /*reuse_port=*/false);
    return probe.ok() ? Status::Ok() : probe.status();
  }

  Result<tcp::acceptor> Listen(asio::io_context& io, int port, bool reuse_port) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.bind_address, ec);
    if (ec)
      return Status::Error("cannot listen on " + options_.bind_address + ": not an IP address");
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    tcp::acceptor acceptor(io);
    const auto fail = [&](const char* step) {
      return Status::Error("cannot listen on " + options_.bind_address + ":" +
                           std::to_string(port) + ": " + step + ": " + ec.message());
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return fail("socket");
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (reuse_port) {
      const int yes = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes)) !=
          0) {
        ec.assign(errno, boost::system::system_category());
        return fail("SO_REUSEPORT");
      }
    }
    // Inherited by accepted sockets: without it each answer waits ~40 ms for Nagle.
    acceptor.set_option(tcp::no_delay(true), ec);
    acceptor.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor.listen(kListenBacklog, ec);
    if (ec) return fail("listen");
    return acceptor;
  }

  void Run(Shard& shard) {
    try {
      shard.io.run();
    } catch (const std::exception& e) {
      logger_.Error("event loop failed", {{"loop", shard.index}, {"error", e.what()}});
    }
    shard.running.store(false);
  }

  template <class Awaitable>
  void Spawn(Shard& shard, Awaitable task) {
    asio::co_spawn(shard.io, std::move(task), [this](const std::exception_ptr& error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        logger_.Error("connection failed", {{"error", e.what()}});
      } catch (...) {
        logger_.Error("connection failed", {{"error", "unknown exception"}});
      }
    });
  }

  asio::awaitable<void> AcceptLoop(Shard& shard, tcp::acceptor& acceptor, bool tls) {
    bool warned = false;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kAwait);
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        if (!warned) {
          logger_.Warn("cannot accept connections; retrying", {{"error", ec.message()}});
          warned = true;
        }
        asio::steady_timer pause(shard.io, kAcceptBackoff);
        co_await pause.async_wait(kAwait);
        continue;
      }
      warned = false;
      if (tls) {
        Spawn(shard, ServeWebhook(shard, std::move(socket)));
      } else {
        Spawn(shard, ServeOperations(shard, std::move(socket)));
      }
    }
  }

  // Closes connections past their deadline; a handshake or request that did not arrive in time
  // is counted as stalled.
  void Sweep(Shard& shard) {
    shard.sweeper.expires_after(kSweepInterval);
    shard.sweeper.async_wait([this, &shard](const boost::system::error_code& ec) {
      if (ec) return;
      const auto now = Clock::now();
      std::size_t stalled = 0;
      for (ConnectionList* list : {&shard.webhook_connections, &shard.operations_connections}) {
        for (Connection& c : *list) {
          if (c.closed() || c.deadline() > now) continue;
          if (c.phase() == Phase::kHandshake || c.phase() == Phase::kReading) ++stalled;
          c.Close();
        }
      }
      if (stalled > 0) {
        for (std::size_t i = 0; i < stalled; ++i) metrics_.CountStalledConnectionClosed();
        logger_.Warn("closed stalled connections",
                     {{"count", stalled},
                      {"reason", "request or TLS handshake not received in time"},
                      {"timeout_seconds",
                       static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                     options_.request_deadline)
                                                     .count())}});
      }
      TrimAfterClosing(shard);
      Sweep(shard);
    });
  }

  // Connections closed in numbers (a burst, a flood of idle ones): after every kTrimAfterClosed,
  // hand the heap they used back to the kernel, so an idle server returns to its idle size.
  static void TrimAfterClosing(Shard& shard) {
    if (shard.closed_since_trim < kTrimAfterClosed) return;
    malloc_trim(0);
    shard.closed_since_trim = 0;
  }

  // The counters of a session (process-wide and its loop's), held for as long as it runs.
  class Counted {
   public:
    Counted(std::atomic<std::size_t>& counter, Shard& shard) : counter_(counter), shard_(shard) {
      counter_.fetch_add(1);
      ++shard_.connections;
    }
    ~Counted() {
      --shard_.connections;
      ++shard_.closed_since_trim;
      counter_.fetch_sub(1);
    }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;

   private:
    std::atomic<std::size_t>& counter_;
    Shard& shard_;
  };

  asio::awaitable<void> ServeWebhook(Shard& shard, tcp::socket socket) {
    Counted counted(open_webhook_, shard);
    SSL* ssl = SSL_new(tls_);
    if (ssl == nullptr) {
      logger_.Error("cannot start a TLS session (out of memory?)");
      co_return;
    }
    std::string remote = RemoteOf(socket);
    Connection c(std::move(socket), ssl, std::move(remote));
    shard.webhook_connections.push_back(c);
    c.Enter(Phase::kHandshake, Clock::now() + options_.request_deadline);
    if (!co_await c.Handshake()) co_return;
    for (std::size_t served = 0;;) {
      if (!c.HasPendingInput()) {
        if (draining_.load()) co_return;
        c.Enter(Phase::kIdle, Clock::now() + kKeepAliveTimeout);
        if (!co_await c.WaitForInput()) co_return;
      }
      c.Enter(Phase::kReading, Clock::now() + options_.request_deadline);
      Exchange exchange = co_await ReadWebhookRequest(c);
      if (exchange.oversized) metrics_.CountOversizedRequestClosed();
      if (exchange.end == Exchange::End::kGone) co_return;
      ++served;
      const bool close = exchange.close || shutting_down_.load(std::memory_order_relaxed) ||
                         served >= kMaxRequestsPerConnection;
      if (!co_await Answer(c, exchange, close, /*webhook=*/true)) co_return;
      if (close) {
        co_await Linger(c);
        co_return;
      }
    }
  }

  asio::awaitable<bool> Answer(Connection& c, const Exchange& exchange, bool close, bool webhook) {
    c.Enter(Phase::kWriting, Clock::now() + kWriteTimeout);
    const std::string bytes = RenderResponse(exchange.response, close, exchange.head_request);
    if (!co_await c.Send(bytes)) co_return false;
    metrics_.CountHttpResponse(webhook, exchange.response.status);
    co_return true;
  }

  // Reads a request head into `parser`. Returns an exchange to answer (or end) when the head
  // cannot be read; nullopt once the head is complete.
  asio::awaitable<std::optional<Exchange>> ReadHead(Connection& c, RequestParser& parser,
                                                    std::size_t head_limit) {
    parser.header_limit(static_cast<std::uint32_t>(head_limit));
    parser.body_limit(boost::none);
    parser.eager(false);
    for (;;) {
      if (!c.input().empty()) {
        boost::system::error_code ec;
        const std::size_t used = parser.put(asio::buffer(c.input().data(), c.input().size()), ec);
        c.Consume(used);
        if (parser.is_header_done()) co_return std::nullopt;
        if (ec == http::error::header_limit) co_return Oversized(head_limit);
        if (ec && ec != http::error::need_more) co_return Malformed(ec.message());
        if (used > 0) continue;
      }
      if (!co_await c.Receive(std::min(kMaxBufferedBytes, head_limit + 1))) {
        if (c.input().size() >= head_limit) co_return Oversized(head_limit);
        co_return Exchange{};
      }
    }
  }

  // Parses the rest of the body already received or still to come. nullopt: the body is
  // complete; otherwise what ended it.
  asio::awaitable<std::optional<Exchange>> ReadBody(Connection& c, RequestParser& parser,
                                                    std::uint64_t keep_limit,
                                                    std::uint64_t drop_limit) {
    parser.get().body().limit = keep_limit;
    // A chunk announced beyond what is dropped is refused from its size line.
    parser.body_limit(drop_limit);
    parser.eager(true);
    while (!parser.is_done()) {
      if (!c.input().empty()) {
        boost::system::error_code ec;
        const std::size_t used = parser.put(asio::buffer(c.input().data(), c.input().size()), ec);
        c.Consume(used);
        if (parser.get().body().received > drop_limit) {
          co_return Answered(webhook_.BodyTooLarge(), /*close=*/true);
        }
        if (parser.is_done()) break;
        if (ec == http::error::body_limit) {
          co_return Answered(webhook_.BodyTooLarge(), /*close=*/true);
        }
        if (ec && ec != http::error::need_more) co_return Malformed(ec.message());
        if (used > 0) continue;
      }
      if (!co_await c.Receive(kMaxBufferedBytes)) {
        if (c.input().size() >= kMaxBufferedBytes) co_return Oversized(kMaxRequestHeadBytes);
        co_return Exchange{};
      }
    }
    co_return std::nullopt;
  }

  static Exchange Answered(Response response, bool close) {
    Exchange e;
    e.end = Exchange::End::kAnswer;
    e.response = std::move(response);
    e.close = close;
    return e;
  }

  static Exchange Malformed(const std::string& reason) {
    return Answered(WebhookEndpoint::Malformed(reason), /*close=*/true);
  }

  static Exchange Oversized(std::size_t limit) {
    Exchange e = Answered(WebhookEndpoint::HeadTooLarge(limit), /*close=*/true);
    e.oversized = true;
    return e;
  }

  asio::awaitable<Exchange> ReadWebhookRequest(Connection& c) {
    RequestParser parser;
    if (auto ended = co_await ReadHead(c, parser, kMaxRequestHeadBytes))
      co_return std::move(*ended);
    const RequestHead head = HeadOf(parser, c.remote());
    const bool head_request = head.method == "HEAD";
    const bool keep_alive = parser.get().keep_alive();

    if (std::optional<Response> refusal = webhook_.Screen(head)) {
      // The body of a refused request is read and dropped, so the connection can go on; unless
      // the client waits for a go-ahead (it will not send the body) or announced too much.
      const auto declared = parser.content_length();
      const bool drop = !parser.is_done() && !ExpectsContinue(parser) &&
                        (!declared || *declared <= kMaxDrainBytes);
      if (parser.is_done() || drop) {
        if (drop) {
          if (auto ended = co_await ReadBody(c, parser, 0, kMaxDrainBytes)) {
            if (ended->end == Exchange::End::kAnswer) ended->response = std::move(*refusal);
            co_return std::move(*ended);
          }
        }
        Exchange e = Answered(std::move(*refusal), !keep_alive);
        e.head_request = head_request;
        co_return e;
      }
      co_return Answered(std::move(*refusal), /*close=*/true);
    }

    if (!parser.is_done() && ExpectsContinue(parser)) {
      if (!co_await c.Send("HTTP/1.1 100 Continue\r\n\r\n")) co_return Exchange{};
    }
    const std::uint64_t limit = webhook_.max_request_bytes();
    if (auto ended = co_await ReadBody(c, parser, limit, limit + kMaxDrainBytes)) {
      co_return std::move(*ended);
    }
    if (parser.get().body().received > limit)
      co_return Answered(webhook_.BodyTooLarge(), !keep_alive);

    c.Enter(Phase::kHandling);
    const std::string body = std::move(parser.get().body().data);
    Exchange e;
    if (std::optional<Response> at_once = webhook_.HandleWithoutWaiting(head, body)) {
      e.response = std::move(*at_once);
    } else {
      // It needs the Kubernetes API (a ServiceAccount not cached yet): run it where the wait
      // holds up no other connection of this loop.
      e.response = co_await asio::co_spawn(
          review_pool_,
          [this, &head, &body]() -> asio::awaitable<Response> {
            co_return webhook_.Handle(head, body);
          },
          asio::use_awaitable);
    }
    e.end = Exchange::End::kAnswer;
    e.close = !keep_alive;
    e.head_request = head_request;
    co_return e;
  }

  asio::awaitable<void> ServeOperations(Shard& shard, tcp::socket socket) {
    Counted counted(open_operations_, shard);
    std::string remote = RemoteOf(socket);
    Connection c(std::move(socket), nullptr, std::move(remote));
    c.Enter(Phase::kReading, Clock::now() + options_.request_deadline);
    shard.operations_connections.push_back(c);
    if (open_operations_.load() > kMaxOperationsConnections) {
      for (Connection& other : shard.operations_connections) {
        if (other.phase() == Phase::kReading && !other.closed()) {
          other.Close();
          break;
        }
      }
    }
    Exchange exchange;
    {
      RequestParser parser;
      if (auto ended = co_await ReadHead(c, parser, kMaxOperationsHeadBytes)) {
        exchange = std::move(*ended);
      } else {
        const RequestHead head = HeadOf(parser, c.remote());
        exchange = Answered(AnswerOperations(operations_, head), /*close=*/true);
        exchange.head_request = head.method == "HEAD";
      }
    }
    if (exchange.oversized) metrics_.CountOversizedRequestClosed();
    if (exchange.end == Exchange::End::kGone) co_return;
    if (!co_await Answer(c, exchange, /*close=*/true, /*webhook=*/false)) co_return;
    co_await Linger(c);
  }

  // Ends a connection after its last answer: TLS close_notify, FIN, then drops what the
  // client still sends for a while, so the answer is read before the connection goes.
  asio::awaitable<void> Linger(Connection& c) {
    c.Enter(Phase::kLingering, Clock::now() + kLingerTime);
    c.FinishSending();
    std::size_t dropped = 0;
    while (dropped < kMaxLingerBytes) {
      const std::size_t n = co_await c.DropReceived();
      if (n == 0) break;
      dropped += n;
    }
  }

  EventServerOptions options_;
  SSL_CTX* tls_;
  WebhookHandler& webhook_;
  OperationsState operations_;
  Metrics& metrics_;
  Logger& logger_;
  asio::thread_pool review_pool_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> open_webhook_{0};
  std::atomic<std::size_t> open_operations_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  bool started_ = false;  // owning thread only
  bool stopped_ = false;  // owning thread only
};

std::size_t DefaultShards() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  std::size_t n = 1;
  if (::sched_getaffinity(0, sizeof(cpus), &cpus) == 0) {
    n = static_cast<std::size_t>(CPU_COUNT(&cpus));
  }
  return std::clamp<std::size_t>(n, 1, kMaxShards);
}

EventServer::EventServer(EventServerOptions options, SSL_CTX* tls, WebhookHandler& webhook,
                         OperationsState operations, Metrics& metrics, Logger& logger)
    : impl_(std::make_unique<Impl>(std::move(options), tls, webhook, std::move(operations), metrics,
                                   logger)) {}
EventServer::~EventServer() = default;
Status EventServer::Bind() { return impl_->Bind(); }
void EventServer::Start() { impl_->Start(); }
void EventServer::StartOperations() { impl_->StartOperations(); }
bool EventServer::Healthy() const { return impl_->Healthy(); }
void EventServer::BeginShutdown() { impl_->BeginShutdown(); }
void EventServer::BeginDrain() { impl_->BeginDrain(); }
bool EventServer::WaitWebhookDrained(Clock::time_point deadline) {
  return impl_->WaitWebhookDrained(deadline);
}
void EventServer::Stop(Clock::time_point deadline) { impl_->Stop(deadline); }
std::size_t EventServer::open_connections() const { return impl_->open_connections(); }
std::size_t EventServer::shard_count() const { return impl_->shard_count(); }

}  // namespace irsa::server
