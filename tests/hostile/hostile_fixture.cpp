#include "hostile_fixture.h"

#include <csignal>
#include <cstdio>
#include <limits>

namespace irsa::test {

// Connections the 2,000-idle-connections case opens, plus the test's own files.
constexpr std::size_t kWantedFileLimit = 8192;

void HostileServerTest::SetUpTestSuite() {
  std::signal(SIGPIPE, SIG_IGN);  // writes to connections the server closed
  RaiseFileLimit(kWantedFileLimit);
  pki_dir_ = new TempDir();
  pki_ = new Pki(pki_dir_->path(), "hostile-ca");
  server_cert_ = new Pki::Issued(pki_->IssueServer("server-1", "server-1"));
  auto config = LoadConfigFile(SourceDir() + "/examples/config.yaml");
  if (!config.ok()) throw std::runtime_error(config.error());
  config_ = new Config(std::move(config).value());
}

void HostileServerTest::TearDownTestSuite() {
  delete config_;
  delete server_cert_;
  delete pki_;
  delete pki_dir_;
}

void HostileServerTest::TearDown() {
  if (HasFailure()) {
    const std::string log = server_.log();
    // The tail is what matters; some cases log thousands of lines.
    std::cerr << "--- server log (last 8 KB) ---\n"
              << log.substr(log.size() > 8192 ? log.size() - 8192 : 0) << "\n";
  }
}

void HostileServerTest::Start(std::vector<std::string> args) {
  server_.Start(WithDefaultServeArgs(std::move(args), *server_cert_), tmp_ / "server.log");
  ASSERT_TRUE(server_.WaitReady()) << server_.log();
}

std::unique_ptr<httplib::SSLClient> HostileServerTest::Client() const {
  auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", server_.port());
  client->set_ca_cert_path(pki_->ca_cert().c_str());
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(20, 0);
  client->set_read_timeout(60, 0);
  client->set_write_timeout(60, 0);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // else each request waits for the delayed ACK
  return client;
}

TlsOptions HostileServerTest::Verified() const {
  TlsOptions options;
  options.ca_file = pki_->ca_cert();
  return options;
}

HostileServerTest::Answer HostileServerTest::Expected(std::string_view body) const {
  auto request = DecodeAdmissionReview(body);
  if (!request.ok()) return {400, "400 not a valid AdmissionReview: " + request.error() + "\n"};
  return {200, EncodeAdmissionResponse(*request, Admit(*config_, *request, nullptr).mutation)};
}

void HostileServerTest::ExpectAnswer(httplib::SSLClient& client, const std::string& body,
                                     const std::string& what) {
  SCOPED_TRACE(what);
  const Answer expected = Expected(body);
  auto res = client.Post("/mutate", body, "application/json");
  ASSERT_TRUE(res) << what << ": no response: " << httplib::to_string(res.error());
  EXPECT_EQ(res->status, expected.status) << what << ": " << res->body.substr(0, 500);
  EXPECT_EQ(res->body, expected.body) << what;
  if (expected.status == 200) {
    const auto parsed = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << what;
    EXPECT_EQ(parsed["response"]["allowed"], true) << what;
  }
}

// examples/psmdb-rs0-pod.yaml, read once (load tests build thousands of reviews).
const json& CachedExamplePod() {
  static const json pod = ExamplePod();
  return pod;
}

json ValidReview(const std::string& uid) {
  return Review("admission.k8s.io/v1", uid, CachedExamplePod());
}

std::string InjectedRole(const json& response) {
  if (!response.contains("response") || !response["response"].contains("patch")) return "";
  const json patch = json::parse(Base64Decode(response["response"]["patch"].get<std::string>()));
  const json pod = CachedExamplePod().patch(patch);
  for (const auto& env : pod["spec"]["containers"][0].value("env", json::array())) {
    if (env.value("name", "") == "AWS_ROLE_ARN") return env.value("value", "");
  }
  return "";
}

void HostileServerTest::ExpectHealthy(const std::string& after, std::size_t rss_limit_mb) {
  SCOPED_TRACE("health check after: " + after);
  ASSERT_TRUE(server_.running()) << "the server died after: " << after;
  const std::string uid = "health-" + std::to_string(++health_checks_);
  const std::string body = ValidReview(uid).dump();
  auto client = Client();  // a fresh connection: the listener still accepts and handshakes
  auto res = client->Post("/mutate", body, "application/json");
  ASSERT_TRUE(res) << "no answer to a valid review after: " << after << ": "
                   << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->body, Expected(body).body) << "wrong answer to a valid review after: " << after;
  const json response = json::parse(res->body);
  EXPECT_EQ(response["response"]["uid"], uid);
  EXPECT_EQ(InjectedRole(response), kRoleArn) << "the patch lost the role after: " << after;
  const std::size_t rss = RssMb();
  EXPECT_GT(rss, 0U);
  if (kMemoryBoundsApply) {
    EXPECT_LE(rss, rss_limit_mb) << "resident memory after: " << after;
  }
  std::printf("[ rss      ] %-60s %5zu MB (bound %zu MB)\n", after.c_str(), rss, rss_limit_mb);
}

std::size_t HostileServerTest::RssMb() const {
  const auto kb = ProcStatusValue(server_.pid(), "VmRSS");
  return kb ? *kb / 1024 : 0;
}

double HostileServerTest::Metric(const std::string& series) const {
  const MetricReading reading = ReadMetric(server_.metrics_port(), series);
  if (reading.value) return *reading.value;
  ADD_FAILURE() << series << ": " << reading;
  return std::numeric_limits<double>::quiet_NaN();
}

::testing::AssertionResult HostileServerTest::MetricBecomes(
    const std::string& series, const std::string& awaited, const std::function<bool(double)>& holds,
    std::chrono::milliseconds timeout) const {
  return WaitForMetric(server_.metrics_port(), series, awaited, holds, timeout);
}

bool HostileServerTest::Eventually(const std::function<bool()>& condition,
                                   std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

std::string ChunkedBody(const std::string& body, std::size_t chunk_size) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); i += chunk_size) {
    const std::size_t n = std::min(chunk_size, body.size() - i);
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", n);
    out += size;
    out.append(body, i, n);
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

}  // namespace irsa::test
