// transport_spike: one HTTPS server with two transports, for comparing them with no handler work
// (bench/transport.sh runs both beside nginx). Every POST is answered 200 with the bytes of one
// file (application/json), any other request 200 "ok"; keep-alive; request bodies are read whole,
// up to kMaxBodyBytes.
//   asio      the transport of `serve` (src/server/event_server.h) with a constant WebhookHandler;
//   libevent  libevent 2.1's evhttp over bufferevent_openssl, laid out like ours: one event_base,
//             thread and SO_REUSEPORT listener per core.
// Both take the same SSL_CTX settings as `serve` (TlsCredentials, SSL_MODE_RELEASE_BUFFERS), the
// same number of loops (DefaultShards(): the CPUs this process may run on, at most 4), the same
// head and body limits and a 10 s timeout. A benchmark tool, not a product: it stops on SIGINT or
// SIGTERM.
//
// Usage: transport_spike asio|libevent --cert FILE --key FILE --response FILE --port N
//                        [--bind 127.0.0.1] [--loops N]
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/event_server.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/tls_credentials.h"
#include "server/webhook_handler.h"

namespace {

using irsa::server::RequestHead;
using irsa::server::Response;

// The largest request body read; the same default as `serve --max-request-bytes`.
constexpr std::size_t kMaxBodyBytes = std::size_t{1024} * 1024;
// A handshake or request must arrive within this time (libevent: between two reads).
constexpr int kTimeoutSeconds = 10;
// Pending connections the kernel queues per listening socket (as `serve`).
constexpr int kListenBacklog = 4096;
// The answer to anything but a POST.
constexpr std::string_view kOk = "ok\n";
constexpr const char* kJson = "application/json";

struct Options {
  std::string mode;
  std::string cert_file;
  std::string key_file;
  std::string response_file;
  std::string bind_address = "127.0.0.1";
  int port = 0;
  std::size_t loops = 0;  // 0: the rule of `serve`
};

constexpr const char* kUsage =
    "Usage: transport_spike asio|libevent --cert FILE --key FILE --response FILE --port N\n"
    "                       [--bind 127.0.0.1] [--loops N]\n";

std::optional<Options> ParseOptions(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  Options o;
  o.mode = argv[1];
  if (o.mode != "asio" && o.mode != "libevent") return std::nullopt;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--cert") {
      o.cert_file = value;
    } else if (flag == "--key") {
      o.key_file = value;
    } else if (flag == "--response") {
      o.response_file = value;
    } else if (flag == "--bind") {
      o.bind_address = value;
    } else if (flag == "--port") {
      o.port = std::stoi(value);
    } else if (flag == "--loops") {
      o.loops = static_cast<std::size_t>(std::stoul(value));
    } else {
      return std::nullopt;
    }
  }
  if ((argc % 2) != 0 || o.cert_file.empty() || o.key_file.empty() || o.response_file.empty() ||
      o.port <= 0) {
    return std::nullopt;
  }
  return o;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Waits for SIGINT or SIGTERM (blocked in every thread by BlockStopSignals()).
void WaitForStopSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal = 0;
  sigwait(&set, &signal);
}

void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// ---- asio: the transport of `serve` with a constant answer ----------------------------------

class ConstantAnswer : public irsa::server::WebhookHandler {
 public:
  explicit ConstantAnswer(std::string body) : body_(std::move(body)) {}

  std::optional<Response> Screen(const RequestHead& /*head*/) const override {
    return std::nullopt;
  }
  Response Handle(const RequestHead& head, const std::string& /*body*/) override {
    Response res;
    if (head.method == "POST") {
      res.content_type = kJson;
      res.body = body_;
    } else {
      res.body = kOk;
    }
    return res;
  }
  Response BodyTooLarge() const override {
    Response res;
    res.status = 413;
    res.body = "413 request body too large\n";
    return res;
  }
  std::size_t max_request_bytes() const override { return kMaxBodyBytes; }
  std::optional<Response> HandleWithoutWaiting(const RequestHead& head,
                                               const std::string& body) override {
    return Handle(head, body);
  }

 private:
  std::string body_;
};

int RunAsio(const Options& options, SSL_CTX* ctx, std::string body) {
  irsa::server::Metrics metrics("transport-spike");
  irsa::server::Logger logger(irsa::server::LogFormat::kText, irsa::LogLevel::kWarn);
  ConstantAnswer handler(std::move(body));
  irsa::server::EventServerOptions server_options;
  server_options.bind_address = options.bind_address;
  server_options.webhook_port = options.port;
  server_options.operations_port = 0;
  server_options.request_deadline = std::chrono::seconds(kTimeoutSeconds);
  server_options.shards = options.loops;
  irsa::server::EventServer server(server_options, ctx, handler, irsa::server::OperationsState{},
                                   metrics, logger);
  if (auto status = server.Bind(); !status.ok()) {
    std::cerr << "transport_spike: " << status.message() << "\n";
    return 1;
  }
  server.Start();
  std::cerr << "transport_spike: asio on " << options.bind_address << ":" << options.port << ", "
            << server.shard_count() << " loops\n";
  WaitForStopSignal();
  server.BeginDrain();
  server.WaitWebhookDrained(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  server.Stop(std::chrono::steady_clock::now());
  return 0;
}

// ---- libevent: evhttp over bufferevent_openssl, one event_base per core ----------------------

struct EventBaseFree {
  void operator()(event_base* base) const { event_base_free(base); }
};
struct EvhttpFree {
  void operator()(evhttp* http) const { evhttp_free(http); }
};
struct EventFree {
  void operator()(event* ev) const { event_free(ev); }
};

// One loop: its base, its HTTP server (which owns the listener), and the eventfd the main
// thread writes to stop it (the loop breaks itself, so no base is touched across threads).
struct LibeventLoop {
  std::unique_ptr<event_base, EventBaseFree> base;
  std::unique_ptr<evhttp, EvhttpFree> http;
  std::unique_ptr<event, EventFree> stop;
  int stop_fd = -1;
  std::thread thread;
};

struct LibeventAnswer {
  std::string body;
};

bufferevent* NewTlsBufferevent(event_base* base, void* arg) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(arg));
  // evhttp falls back to a plain-text connection when no bufferevent is returned.
  if (ssl == nullptr) std::abort();
  // bufferevent_openssl writes several buffers in turn and takes a short write for a stall.
  SSL_clear_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
  return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                        BEV_OPT_CLOSE_ON_FREE);
}

void AnswerLibevent(evhttp_request* req, void* arg) {
  const auto& answer = *static_cast<const LibeventAnswer*>(arg);
  // The body as one contiguous block, as a JSON parser would need it.
  evbuffer* input = evhttp_request_get_input_buffer(req);
  evbuffer_pullup(input, -1);
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evbuffer* output = evhttp_request_get_output_buffer(req);
  if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
    evhttp_add_header(headers, "Content-Type", kJson);
    evbuffer_add(output, answer.body.data(), answer.body.size());
  } else {
    evhttp_add_header(headers, "Content-Type", "text/plain; charset=utf-8");
    evbuffer_add(output, kOk.data(), kOk.size());
  }
  evhttp_send_reply(req, 200, "OK", nullptr);
}

void BreakLoop(evutil_socket_t /*fd*/, short /*events*/, void* arg) {
  event_base_loopbreak(static_cast<event_base*>(arg));
}

int RunLibevent(const Options& options, SSL_CTX* ctx, std::string body) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(options.port));
  if (inet_pton(AF_INET, options.bind_address.c_str(), &address.sin_addr) != 1) {
    std::cerr << "transport_spike: --bind " << options.bind_address << ": not an IPv4 address\n";
    return 1;
  }
  LibeventAnswer answer{std::move(body)};
  const std::size_t count = options.loops == 0 ? irsa::server::DefaultShards() : options.loops;
  std::vector<std::unique_ptr<LibeventLoop>> loops;
  for (std::size_t i = 0; i < count; ++i) {
    auto loop = std::make_unique<LibeventLoop>();
    loop->base.reset(event_base_new());
    loop->http.reset(evhttp_new(loop->base.get()));
    evconnlistener* listener = evconnlistener_new_bind(
        loop->base.get(), nullptr, nullptr,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
        kListenBacklog, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    if (listener == nullptr) {
      std::perror("transport_spike: listen");
      return 1;
    }
    // Inherited by accepted sockets: without it each answer waits ~40 ms for Nagle.
    const int yes = 1;
    setsockopt(evconnlistener_get_fd(listener), IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    evhttp_bind_listener(loop->http.get(), listener);  // the server owns it from here
    evhttp_set_bevcb(loop->http.get(), NewTlsBufferevent, ctx);
    evhttp_set_max_headers_size(loop->http.get(), irsa::server::kMaxRequestHeadBytes);
    evhttp_set_max_body_size(loop->http.get(), kMaxBodyBytes);
    evhttp_set_timeout(loop->http.get(), kTimeoutSeconds);
    // A body over the limit is read and dropped before the 413, not cut off by a reset.
    evhttp_set_flags(loop->http.get(), EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_allowed_methods(loop->http.get(),
                               EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    evhttp_set_gencb(loop->http.get(), AnswerLibevent, &answer);
    loop->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->stop.reset(
        event_new(loop->base.get(), loop->stop_fd, EV_READ, BreakLoop, loop->base.get()));
    event_add(loop->stop.get(), nullptr);
    loops.push_back(std::move(loop));
  }
  for (auto& loop : loops) {
    loop->thread = std::thread([base = loop->base.get()] { event_base_dispatch(base); });
  }
  std::cerr << "transport_spike: libevent " << event_get_version() << " on " << options.bind_address
            << ":" << options.port << ", " << loops.size() << " loops\n";
  WaitForStopSignal();
  for (auto& loop : loops) {
    const std::uint64_t one = 1;
    if (write(loop->stop_fd, &one, sizeof(one)) != sizeof(one)) std::abort();
  }
  for (auto& loop : loops) {
    loop->thread.join();
    loop->stop.reset();
    loop->http.reset();
    loop->base.reset();
    close(loop->stop_fd);
  }
  return 0;
}

struct SslContextFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Options> options = ParseOptions(argc, argv);
  if (!options) {
    std::cerr << kUsage;
    return 2;
  }
  // The process settings of `serve` (src/cli/main.cpp).
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  BlockStopSignals();

  std::optional<std::string> body = ReadFile(options->response_file);
  if (!body) {
    std::cerr << "transport_spike: cannot read " << options->response_file << "\n";
    return 1;
  }
  irsa::server::TlsCredentials tls({options->cert_file, options->key_file, ""},
                                   irsa::server::TlsMinVersion::kTls12);
  if (auto status = tls.Reload(); !status.ok()) {
    std::cerr << "transport_spike: " << status.message() << "\n";
    return 1;
  }
  // The SSL_CTX of `serve` (src/server/webhook_server.cpp).
  std::unique_ptr<SSL_CTX, SslContextFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || !tls.ConfigureContext(*ctx)) {
    std::cerr << "transport_spike: OpenSSL rejected the TLS settings\n";
    return 1;
  }
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);

  if (options->mode == "asio") return RunAsio(*options, ctx.get(), std::move(*body));
  return RunLibevent(*options, ctx.get(), std::move(*body));
}
