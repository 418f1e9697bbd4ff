// Hostile transports against the real server (issue 8): Content-Length that lies, chunked
// bodies (valid and malformed), compressed bodies, slowloris, 2,000 idle connections,
// non-TLS bytes on the TLS port, clients that vanish mid-handshake and mid-body, and request
// heads that never end (on the TLS port and on the plain metrics port). After each case the
// server is alive, answers a valid review exactly, and its memory is bounded.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hostile_fixture.h"

namespace irsa::test {
namespace {

const char* const kHeadPrefix =
    "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";

// Sends `data` on a plain socket; false once the peer refuses more.
bool SendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Closes with a TCP reset instead of a FIN.
void CloseWithReset(int fd) {
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  ::close(fd);
}

TEST_F(HostileServerTest, ContentLengthShorterThanTheBody) {
  Start();
  const std::string body = ValidReview("short-length").dump();
  const std::size_t declared = body.size() / 2;
  TlsConnection conn(server_.port(), Verified());
  ASSERT_TRUE(conn.ok()) << conn.error();
  ASSERT_TRUE(conn.Write(std::string(kHeadPrefix) + "Content-Length: " + std::to_string(declared) +
                         "\r\n\r\n" + body));
  // The first `declared` bytes are the request: truncated JSON, exactly the oracle's 400.
  const auto first = conn.ReadResponse();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 400);
  EXPECT_EQ(first->body, Expected(body.substr(0, declared)).body);
  // The rest is read as the next request: not HTTP, so at most a 400, then the connection ends.
  if (const auto second = conn.ReadResponse()) {
    EXPECT_GE(second->status, 400);
  }
  EXPECT_TRUE(conn.WaitClosed());
  ExpectHealthy("Content-Length shorter than the body");
}

TEST_F(HostileServerTest, ContentLengthLongerThanTheBodyIsCutByTheReadTimeout) {
  Start({"--request-read-timeout-seconds", "2"});
  const double stalled_before = Metric("irsa_webhook_stalled_connections_closed_total");
  const std::string body = ValidReview("long-length").dump();
  TlsConnection conn(server_.port(), Verified());
  ASSERT_TRUE(conn.ok()) << conn.error();
  ASSERT_TRUE(conn.Write(std::string(kHeadPrefix) + "Content-Length: " +
                         std::to_string(body.size() + 1000) + "\r\n\r\n" + body));
  // While that request waits for bytes that never come, others are served.
  ExpectHealthy("a request waiting for its missing bytes");
  // The worker is not held forever: the request deadline closes the connection (hang guard:
  // the 20 s read timeout of the test connection).
  EXPECT_FALSE(conn.ReadResponse()) << "answered a request whose body never arrived";
  EXPECT_TRUE(conn.WaitClosed());
  EXPECT_TRUE(MetricBecomes("irsa_webhook_stalled_connections_closed_total",
                            "> " + std::to_string(stalled_before),
                            [&](double closed) { return closed > stalled_before; }));
  ExpectHealthy("Content-Length longer than the body");
}

enum class Reply { kStatus, kNone, kStatusOrNone };

struct ChunkedCase {
  std::string name;
  std::string request;             // after the TLS handshake
  bool close_after_write = false;  // half-close: no more bytes will come
  Reply answer = Reply::kStatus;
  std::vector<int> statuses;  // acceptable statuses when there is an answer
  bool oracle = false;        // a 200 must match the oracle for the valid body
};

TEST_F(HostileServerTest, ChunkedBodiesValidAndMalformed) {
  Start({"--request-read-timeout-seconds", "2"});
  const std::string body = ValidReview("chunked").dump();
  const std::string head = std::string(kHeadPrefix) + "Transfer-Encoding: chunked\r\n\r\n";
  char hex[32];
  std::snprintf(hex, sizeof(hex), "%zx", body.size());
  const std::string size(hex);
  std::string upper = size;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  const std::vector<ChunkedCase> cases = {
      {"one chunk", head + ChunkedBody(body, body.size()), false, Reply::kStatus, {200}, true},
      {"1-byte chunks", head + ChunkedBody(body, 1), false, Reply::kStatus, {200}, true},
      {"4 KiB chunks", head + ChunkedBody(body, 4096), false, Reply::kStatus, {200}, true},
      {"upper-case hex size",
       head + upper + "\r\n" + body + "\r\n0\r\n\r\n",
       false,
       Reply::kStatus,
       {200},
       true},
      {"leading zeros",
       head + "0000" + size + "\r\n" + body + "\r\n0\r\n\r\n",
       false,
       Reply::kStatus,
       {200},
       true},
      {"chunk extension",
       head + size + ";name=value\r\n" + body + "\r\n0\r\n\r\n",
       false,
       Reply::kStatus,
       {200},
       true},
      {"non-hex size", head + "zz\r\n" + body + "\r\n0\r\n\r\n", false, Reply::kStatus, {400}},
      {"empty size line", head + "\r\n" + body + "\r\n0\r\n\r\n", false, Reply::kStatus, {400}},
      {"negative size",
       head + "-1\r\n" + body + "\r\n0\r\n\r\n",
       false,
       Reply::kStatus,
       {400, 413}},
      {"size ULONG_MAX",
       head + "ffffffffffffffff\r\n" + body + "\r\n0\r\n\r\n",
       false,
       Reply::kStatus,
       {400, 413}},
      {"size 2^64 + 1",
       head + "10000000000000001\r\n" + body + "\r\n0\r\n\r\n",
       false,
       Reply::kStatus,
       {400, 413}},
      // Refused from its size line: more than the limit is announced.
      {"size far beyond the data, then silence",
       head + "7fffffffffffffff\r\n" + body,
       false,
       Reply::kStatus,
       {413}},
      {"size beyond the data, then EOF",
       head + "ffff\r\n" + body,
       true,
       Reply::kStatusOrNone,
       {400}},
      {"no CRLF after the data",
       head + size + "\r\n" + body + "XX0\r\n\r\n",
       false,
       Reply::kStatus,
       {200, 400},
       true},
      {"no final chunk, then EOF",
       head + size + "\r\n" + body + "\r\n",
       true,
       Reply::kStatusOrNone,
       {400}},
      {"no final chunk, then silence",
       head + size + "\r\n" + body + "\r\n",
       false,
       Reply::kNone,
       {}},
      {"trailer after the final chunk",
       head + size + "\r\n" + body + "\r\n0\r\nX-Trailer: 1\r\n\r\n",
       false,
       Reply::kStatus,
       {200, 400},
       true},
      {"chunked and Content-Length",
       std::string(kHeadPrefix) + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
           ChunkedBody(body, 1000),
       false,
       Reply::kStatus,
       {200, 400},
       true},
      {"chunked twice",
       std::string(kHeadPrefix) +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" +
           ChunkedBody(body, 1000),
       false,
       Reply::kStatus,
       {200, 400, 501},
       true},
      // RFC 9112 6.1: a transfer coding the server does not implement gets 501.
      {"gzip, chunked",
       std::string(kHeadPrefix) + "Transfer-Encoding: gzip, chunked\r\n\r\n" +
           ChunkedBody(body, 1000),
       false,
       Reply::kStatus,
       {501}},
      {"identity transfer coding",
       std::string(kHeadPrefix) + "Transfer-Encoding: identity\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body,
       false,
       Reply::kStatus,
       {501}},
      {"chunked on an unknown path",
       "POST /other HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
           ChunkedBody(body, 1000),
       false,
       Reply::kStatus,
       {404}},
      {"chunked PUT /mutate",
       "PUT /mutate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
           ChunkedBody(body, 1000),
       false,
       Reply::kStatus,
       {405}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    conn.Write(c.request);
    if (c.close_after_write) conn.CloseWrite();
    const auto res = conn.ReadResponse();
    if (c.answer == Reply::kNone) {
      EXPECT_FALSE(res) << c.name << ": answered " << (res ? res->status : 0);
    } else if (res || c.answer == Reply::kStatus) {
      ASSERT_TRUE(res) << c.name << ": no answer";
      EXPECT_NE(std::find(c.statuses.begin(), c.statuses.end(), res->status), c.statuses.end())
          << c.name << ": status " << res->status << " " << res->body;
      if (res->status == 200 && c.oracle) {
        EXPECT_EQ(res->body, Expected(body).body) << c.name;
      }
    }
    ExpectHealthy("chunked: " + c.name);
  }
}

TEST_F(HostileServerTest, CompressedBodiesAreRefused) {
  // The kube-apiserver never compresses webhook requests; decompression would only be a way
  // to make the server inflate a small body into a large one.
  Start();
  const std::string body = ValidReview("compressed").dump();
  for (const std::string encoding :
       {"gzip", "deflate", "br", "compress", "x-unknown", "gzip, br"}) {
    SCOPED_TRACE(encoding);
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    ASSERT_TRUE(conn.Write(std::string(kHeadPrefix) + "Content-Encoding: " + encoding +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                           body));
    const auto res = conn.ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 415) << res->body;
    ExpectHealthy("Content-Encoding: " + encoding);
  }
  {  // "identity" is no encoding at all.
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    ASSERT_TRUE(conn.Write(std::string(kHeadPrefix) +
                           "Content-Encoding: identity\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body));
    const auto res = conn.ReadResponse();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, Expected(body).body);
  }
}

TEST_F(HostileServerTest, SlowlorisOneBytePerSecondIsCutOff) {
  Start({"--request-read-timeout-seconds", "2"});
  const double stalled_before = Metric("irsa_webhook_stalled_connections_closed_total");
  const std::string request =
      HttpRequest("POST", "/mutate", "application/json", ValidReview("slow").dump());
  // Headers, one byte per second, over TLS: closed after the deadline (hang guard: 30 bytes).
  {
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    bool closed = false;
    std::size_t sent = 0;
    for (; sent < 30 && !closed; ++sent) {
      closed = !conn.Write(request.substr(sent, 1));
      std::this_thread::sleep_for(1s);
    }
    EXPECT_TRUE(closed || conn.WaitClosed())
        << "still open after " << sent << " bytes at one per second";
  }
  ExpectHealthy("headers at one byte per second");
  // The TLS handshake itself, one byte per second.
  {
    const int fd = ConnectTcp(server_.port());
    ASSERT_GE(fd, 0);
    const std::string hello = ClientHelloBytes();
    bool closed = false;
    for (std::size_t i = 0; i < 30 && i < hello.size() && !closed; ++i) {
      closed = !SendAll(fd, hello.substr(i, 1));
      std::this_thread::sleep_for(1s);
    }
    EXPECT_TRUE(closed || WaitSocketClosed(fd))
        << "a handshake at one byte per second kept its connection";
    ::close(fd);
  }
  ExpectHealthy("TLS handshake at one byte per second");
  // The body, one byte per second, after complete headers.
  {
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    const std::size_t head_end = request.find("\r\n\r\n") + 4;
    bool closed = !conn.Write(request.substr(0, head_end));
    for (std::size_t i = head_end; i < head_end + 30 && !closed; ++i) {
      closed = !conn.Write(request.substr(i, 1));
      std::this_thread::sleep_for(1s);
    }
    EXPECT_TRUE(closed || conn.WaitClosed()) << "a body at one byte per second kept its connection";
  }
  EXPECT_TRUE(MetricBecomes("irsa_webhook_stalled_connections_closed_total",
                            ">= " + std::to_string(stalled_before + 3),
                            [&](double closed) { return closed >= stalled_before + 3; }));
  ExpectHealthy("body at one byte per second");
}

// How many idle connections the next case holds, per build. In the optimised build it is 2,000:
// there the case proves the memory bounds (resident memory with 2,000 connections open and after
// they close). Under ASan/TSan resident memory means little (see kMemoryBoundsApply); there the
// case is about races in accept, deadlines and close, which 300 connections exercise on the same
// paths in a fraction of the time.
constexpr int kIdleConnections = kMemoryBoundsApply ? 2000 : 300;
// Resident-memory bounds (release build only). While they are open: measured 105 MB with 2,000
// connections in the middle of their handshake (OpenSSL's handshake buffers, about 47 KB each);
// the bound leaves over 2x headroom. Once they closed and the heap is trimmed: measured 21 MB
// (idle is 10-11 MB).
constexpr std::size_t kIdleRssBoundMb = 300;
constexpr std::size_t kRetiredRssBoundMb = 40;
// A handshake must be complete within --request-read-timeout-seconds of its first byte (300 s
// here). The clients below send one more byte of their ClientHello every 2 s, so that every
// connection keeps making progress, as a slow but live client would.
constexpr auto kHandshakeTricklePeriod = 2s;

TEST_F(HostileServerTest, ManyIdleConnectionsWhileValidRequestsAreServed) {
  Start({"--request-read-timeout-seconds", "300"});
  const std::string hello = ClientHelloBytes();
  ASSERT_GT(hello.size(), 100U);
  // Clients that never finish their handshake: one byte more every period, from byte 16 on
  // (past the record header), which lasts (hello.size() - 16) periods.
  std::vector<int> fds;
  for (int i = 0; i < kIdleConnections; ++i) {
    const int fd = ConnectTcp(server_.port());
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    fds.push_back(fd);
    ASSERT_TRUE(SendAll(fd, hello.substr(0, 16))) << "connection " << i;
  }
  std::atomic<bool> done{false};
  std::atomic<int> trickle_failures{0};
  std::thread trickle([&] {
    for (std::size_t next = 16; next < hello.size() && !done.load(); ++next) {
      const auto due = std::chrono::steady_clock::now() + kHandshakeTricklePeriod;
      for (const int fd : fds) {
        if (!SendAll(fd, hello.substr(next, 1))) trickle_failures.fetch_add(1);
      }
      while (!done.load() && std::chrono::steady_clock::now() < due) {
        std::this_thread::sleep_for(50ms);
      }
    }
  });
  const std::string held = std::to_string(kIdleConnections) + " idle connections";
  // The server holds all of them and still answers (hang guard 120 s).
  EXPECT_TRUE(MetricBecomes(
      "irsa_webhook_open_connections", ">= " + std::to_string(kIdleConnections),
      [](double open) { return open >= kIdleConnections; }, 120s));
  ExpectHealthy(held + " (open)", kIdleRssBoundMb);
  ExpectHealthy(held + " (open), again", kIdleRssBoundMb);
  // Probes still answer on the metrics port.
  EXPECT_EQ(MetricsGet(server_.metrics_port(), "/readyz").first, 200);
  done.store(true);
  trickle.join();
  EXPECT_EQ(trickle_failures.load(), 0) << "the server closed handshakes that were progressing";
  for (const int fd : fds) ::close(fd);
  EXPECT_TRUE(MetricBecomes(
      "irsa_webhook_open_connections", "<= 1 (all of them closed)",
      [](double open) { return open <= 1; }, 120s));
  ExpectHealthy(held + " (closed)", kIdleRssBoundMb);
  // In release, the heap they used is trimmed once they closed: RSS goes back to about the idle
  // size (hang guard 120 s). The bound is well below the size with the connections open, so the
  // wait really waits for the trim.
  if (kMemoryBoundsApply) {
    EXPECT_TRUE(Eventually([&] { return RssMb() <= kRetiredRssBoundMb; }, 120s))
        << "RSS stayed at " << RssMb() << " MB (bound " << kRetiredRssBoundMb << " MB)";
  }
  ExpectHealthy(held + ", after the heap was trimmed");
}

TEST_F(HostileServerTest, RaisesItsOpenFileLimitToTheHardLimit) {
  // Started with a soft limit of 256 (inherited), the server must not stop accepting at ~128
  // connections (each holds two descriptors).
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max <= 256)
    GTEST_SKIP() << "hard limit too low to test";
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  Start();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  std::ifstream limits("/proc/" + std::to_string(server_.pid()) + "/limits");
  std::string line;
  std::string soft;
  std::string hard;
  while (std::getline(limits, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    fields >> soft >> hard;
  }
  ASSERT_FALSE(soft.empty());
  EXPECT_EQ(soft, hard) << "soft limit of the server: " << soft;
  EXPECT_NE(soft, "256");
  // And it serves more connections than the inherited limit would allow.
  std::vector<std::unique_ptr<TlsConnection>> connections;
  for (int i = 0; i < 300; ++i) {
    connections.push_back(std::make_unique<TlsConnection>(server_.port(), Verified()));
    ASSERT_TRUE(connections.back()->ok())
        << "connection " << i << ": " << connections.back()->error();
  }
  ExpectHealthy("300 connections");
}

TEST_F(HostileServerTest, NonTlsBytesOnTheTlsPort) {
  Start();
  std::mt19937 random(42);
  std::string noise(64 * 1024, '\0');
  for (auto& c : noise) c = static_cast<char>(random());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain HTTP GET", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"},
      {"plain HTTP POST",
       HttpRequest("POST", "/mutate", "application/json", ValidReview("plain").dump())},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
      {"PROXY protocol header", "PROXY TCP4 10.0.0.1 10.0.0.2 1234 8443\r\n"},
      {"SSLv2 client hello", std::string("\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10", 11) +
                                 std::string(0x2e - 9, 'A')},
      {"TLS record header with a 16 MB length",
       std::string("\x16\x03\x01\xff\xff", 5) + std::string(1000, 'x')},
      {"64 KiB of noise", noise},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    const int fd = ConnectTcp(server_.port());
    ASSERT_GE(fd, 0);
    SendAll(fd, bytes);
    EXPECT_TRUE(WaitSocketClosed(fd)) << name << ": the server kept the connection";
    ::close(fd);
    ExpectHealthy("non-TLS: " + name);
  }
}

TEST_F(HostileServerTest, ClientsThatVanishMidHandshakeMidBodyAndBeforeTheResponse) {
  Start();
  const std::string hello = ClientHelloBytes();
  const std::string request =
      HttpRequest("POST", "/mutate", "application/json", ValidReview("vanish").dump());
  constexpr int kThreads = 4;
  constexpr int kRounds = 10;
  std::atomic<int> setup_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        {  // Half a ClientHello, then FIN.
          const int fd = ConnectTcp(server_.port());
          if (fd < 0) ++setup_failures;
          SendAll(fd, hello.substr(0, hello.size() / 2));
          ::close(fd);
        }
        {  // Half a ClientHello, then RST.
          const int fd = ConnectTcp(server_.port());
          if (fd < 0) ++setup_failures;
          SendAll(fd, hello.substr(0, hello.size() / 2));
          CloseWithReset(fd);
        }
        {  // Handshake done, nothing sent.
          TlsConnection conn(server_.port(), Verified());
          if (!conn.ok()) ++setup_failures;
        }
        {  // Headers and half the body.
          TlsConnection conn(server_.port(), Verified());
          if (!conn.ok() || !conn.Write(request.substr(0, request.size() / 2))) ++setup_failures;
        }
        {  // The whole request, gone before the response.
          TlsConnection conn(server_.port(), Verified());
          if (!conn.ok() || !conn.Write(request)) ++setup_failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(setup_failures.load(), 0);
  EXPECT_TRUE(MetricBecomes("irsa_webhook_open_connections", "<= 1 (every client gone)",
                            [](double open) { return open <= 1; }));
  ExpectHealthy("clients that vanished");
}

// A client that streams a request head (or a chunk-size line, or an unbounded body on a path
// that takes none) without end must be cut off by size, not only by the request deadline:
// cpp-httplib buffers a header line or a chunk-size line of any length, and any number of
// headers. The deadline here is long (300 s), so only a size limit can end these cases.
struct EndlessCase {
  std::string name;
  std::string start;   // sent once
  std::string repeat;  // then sent until the server refuses more (or kEndlessBytes)
};

constexpr std::size_t kEndlessBytes = 32 << 20;

TEST_F(HostileServerTest, EndlessRequestHeadsAreCutOffBySize) {
  Start({"--request-read-timeout-seconds", "300"});
  const std::vector<EndlessCase> cases = {
      {"endless header line", std::string(kHeadPrefix) + "X-Long: ", std::string(16384, 'a')},
      {"endless number of headers", std::string(kHeadPrefix),
       [] {
         std::string headers;
         for (int i = 0; i < 1024; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
         return headers;
       }()},
      {"endless request line", "GET /", std::string(16384, 'a')},
      {"endless chunk-size line", std::string(kHeadPrefix) + "Transfer-Encoding: chunked\r\n\r\n1",
       std::string(16384, '0')},
      {"endless chunk extension", std::string(kHeadPrefix) + "Transfer-Encoding: chunked\r\n\r\n1;",
       std::string(16384, 'e')},
      {"endless body on PUT /mutate", "PUT /mutate HTTP/1.1\r\nHost: x\r\n\r\n",
       std::string(16384, 'a')},
      {"endless body on an unknown path", "POST /other HTTP/1.1\r\nHost: x\r\n\r\n",
       std::string(16384, 'a')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(ResetPeakRss(server_.pid()));
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    std::size_t sent = 0;
    bool open = conn.Write(c.start);
    while (open && sent < kEndlessBytes) {
      open = conn.Write(c.repeat);
      if (open) sent += c.repeat.size();
    }
    EXPECT_FALSE(open) << c.name << ": the server took " << sent
                       << " bytes without cutting the connection";
    const std::size_t peak_mb = ProcStatusValue(server_.pid(), "VmHWM").value_or(0) / 1024;
    if (kMemoryBoundsApply) {
      EXPECT_LE(peak_mb, kSteadyRssMb) << c.name << ": peak RSS while the request streamed";
    }
    std::printf("[ endless  ] %-40s cut after %9zu bytes, peak RSS %zu MB\n", c.name.c_str(), sent,
                peak_mb);
    ExpectHealthy("endless: " + c.name);
  }
}

// The plain metrics port serves the kubelet's probes: neither an endless request head nor
// many slow connections may take memory without bound or keep a probe from being answered.
TEST_F(HostileServerTest, MetricsPortSurvivesEndlessHeadsAndSlowConnections) {
  Start({"--request-read-timeout-seconds", "300"});
  const std::vector<EndlessCase> cases = {
      {"endless header line", "GET /metrics HTTP/1.1\r\nX-Long: ", std::string(16384, 'a')},
      {"endless number of headers", "GET /metrics HTTP/1.1\r\n",
       [] {
         std::string headers;
         for (int i = 0; i < 1024; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
         return headers;
       }()},
      {"endless request line", "GET /", std::string(16384, 'a')},
      {"endless body", "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", std::string(16384, 'a')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(ResetPeakRss(server_.pid()));
    const int fd = ConnectTcp(server_.metrics_port());
    ASSERT_GE(fd, 0);
    std::size_t sent = 0;
    bool open = SendAll(fd, c.start);
    while (open && sent < kEndlessBytes) {
      open = SendAll(fd, c.repeat);
      if (open) sent += c.repeat.size();
    }
    ::close(fd);
    EXPECT_FALSE(open) << c.name << ": the metrics port took " << sent << " bytes";
    const std::size_t peak_mb = ProcStatusValue(server_.pid(), "VmHWM").value_or(0) / 1024;
    if (kMemoryBoundsApply) {
      EXPECT_LE(peak_mb, kSteadyRssMb) << c.name << ": peak RSS while the request streamed";
    }
    std::printf("[ endless  ] metrics: %-31s cut after %9zu bytes, peak RSS %zu MB\n",
                c.name.c_str(), sent, peak_mb);
    EXPECT_EQ(MetricsGet(server_.metrics_port(), "/readyz").first, 200);
    ExpectHealthy("metrics port, endless: " + c.name);
  }
  // Many connections that start a request and never finish it: probes are still answered
  // (hang guard: MetricsGet's 10 s read timeout, far below the 300 s request deadline).
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    const int fd = ConnectTcp(server_.metrics_port());
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Slow: ");
    slow.push_back(fd);
  }
  EXPECT_EQ(MetricsGet(server_.metrics_port(), "/readyz").first, 200)
      << "300 slow connections starved the probes";
  EXPECT_EQ(MetricsGet(server_.metrics_port(), "/healthz").first, 200);
  for (const int fd : slow) ::close(fd);
  ExpectHealthy("metrics port with 300 slow connections");
}

TEST_F(HostileServerTest, SlowMetricsClientDoesNotHoldUpShutdown) {
  // A grace period of 60 s, a request deadline of 300 s: only the listener's own stop grace
  // (1 s) can end the trickling connection before the grace period does.
  Start({"--shutdown-grace-seconds", "60", "--request-read-timeout-seconds", "300"});
  const int fd = ConnectTcp(server_.metrics_port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nX-Slow: "));
  server_.Signal(SIGTERM);
  // Hang guard far below the 60 s grace period.
  const auto status = server_.Wait(30s);
  ::close(fd);
  ASSERT_TRUE(status) << "a trickling metrics client held up the shutdown";
  EXPECT_EQ(*status, 0);
  EXPECT_NE(server_.log().find("\"msg\":\"stopped\""), std::string::npos) << server_.log();
}

}  // namespace
}  // namespace irsa::test
