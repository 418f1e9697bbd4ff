// Unit tests of the server's small modules (no sockets): content-type matching, metrics
// rendering, log escaping, the symlink-swap file watcher, the TLS self-probe.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.h"
#include "irsa/admission.h"
#include "server/config_store.h"
#include "server/file_watcher.h"
#include "server/http_message.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/tls_probe.h"

namespace irsa::server {
namespace {

namespace fs = std::filesystem;

TEST(TlsProbe, ProbeAddressReachesWildcardListenersOverLoopback) {
  EXPECT_EQ(ProbeAddress("0.0.0.0"), "127.0.0.1");
  EXPECT_EQ(ProbeAddress(""), "127.0.0.1");
  EXPECT_EQ(ProbeAddress("::"), "::1");
  EXPECT_EQ(ProbeAddress("10.1.2.3"), "10.1.2.3");
}

TEST(TlsProbe, FailsWhenTheListenerAcceptsButNeverHandshakesAndWhenNothingListens) {
  // A listening socket nobody accept()s from: the kernel completes TCP connections, but no TLS
  // answer ever comes (a wedged accept loop looks like this).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  const Status silent = ProbeTlsHandshake("127.0.0.1", port, std::chrono::milliseconds(300));
  EXPECT_FALSE(silent.ok());
  EXPECT_NE(silent.message().find("no handshake within 300 ms"), std::string::npos)
      << silent.message();
  ::close(fd);
  const Status closed = ProbeTlsHandshake("127.0.0.1", port, std::chrono::milliseconds(300));
  EXPECT_FALSE(closed.ok());
  EXPECT_NE(closed.message().find("connect"), std::string::npos) << closed.message();
}

TEST(IsJsonContentType, AcceptsParametersAndCase) {
  struct Case {
    const char* value;
    bool json;
  };
  for (const Case c :
       {Case{"application/json", true}, Case{"application/json; charset=utf-8", true},
        Case{"Application/JSON", true}, Case{" application/json ;charset=UTF-8", true},
        Case{"application/json-patch+json", false}, Case{"text/plain", false}, Case{"", false},
        Case{"application/jsonx", false}, Case{"application/yaml", false}}) {
    EXPECT_EQ(IsJsonContentType(c.value), c.json) << c.value;
  }
}

TEST(Metrics, FoldsUnknownLabelsAndRendersCumulativeBuckets) {
  Metrics metrics("1.2.3");
  metrics.ObserveAdmission("", "Pod", "CREATE", Outcome::kMutated, 0.00005);
  metrics.ObserveAdmission("", "Pod", "CREATE", Outcome::kMutated, 0.003);
  metrics.ObserveAdmission("evil", "Anything-123", "SMASH", Outcome::kSkipped, 2.0);
  metrics.ObserveAdmission("psmdb.percona.com", "PerconaServerMongoDB", "UPDATE",
                           Outcome::kUnchanged, 0.0001);
  metrics.CountTlsReload(ReloadResult::kError);
  const std::string page = metrics.Render();
  EXPECT_NE(page.find("irsa_webhook_admission_requests_total{kind=\"Pod\",operation=\"CREATE\","
                      "outcome=\"mutated\"} 2"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("irsa_webhook_admission_requests_total{kind=\"other\",operation=\"other\","
                      "outcome=\"skipped\"} 1"),
            std::string::npos);
  EXPECT_EQ(page.find("Anything-123"), std::string::npos);
  EXPECT_NE(
      page.find("kind=\"PerconaServerMongoDB\",operation=\"UPDATE\",outcome=\"unchanged\"} 1"),
      std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_admission_duration_seconds_bucket{le=\"0.0001\"} 2\n"),
            std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_admission_duration_seconds_bucket{le=\"0.005\"} 3\n"),
            std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_admission_duration_seconds_bucket{le=\"1\"} 3\n"),
            std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_admission_duration_seconds_bucket{le=\"+Inf\"} 4\n"),
            std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_admission_duration_seconds_count 4\n"), std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_tls_reloads_total{result=\"error\"} 1\n"), std::string::npos);
  EXPECT_NE(page.find("irsa_webhook_build_info{version=\"1.2.3\"} 1\n"), std::string::npos);
  EXPECT_NE(page.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(metrics.AdmissionCount("", "Pod", "CREATE", Outcome::kMutated), 2U);
}

TEST(Logging, EscapesJsonStrings) {
  std::string out;
  AppendJsonEscaped(out, std::string("a\"b\\c\nd\x01", 8));
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\u0001");
  EXPECT_TRUE(ParseLogFormat("json").ok());
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
}

TEST(Logging, ReplacesMalformedUtf8) {
  std::string out;
  AppendJsonEscaped(out, "caf\xc3\xa9 \xff \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80 \xe2\x82");
  EXPECT_EQ(
      out,
      "caf\xc3\xa9 \\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80 \\ufffd\\ufffd");
}

TEST(Logging, CutsLongValues) {
  // A request's uid or name is logged; a huge one must not become a huge line.
  testing::internal::CaptureStderr();
  {
    // Built in two steps: g++ 12 at -O1 with TSan reports a false -Warray-bounds on
    // `std::string(2000, 'n') + "..."`.
    std::string name(2000, 'n');
    name.append("\xc3\xa9");
    Logger logger(LogFormat::kJson, LogLevel::kInfo);
    logger.Info("admission", {{"uid", std::string(1 << 20, 'u')}, {"name", name}});
  }
  const std::string line = testing::internal::GetCapturedStderr();
  EXPECT_LT(line.size(), 3 * kMaxLogValueBytes) << line.size();
  EXPECT_NE(line.find("...(1048576 bytes)"), std::string::npos);
  EXPECT_NE(line.find("...(2002 bytes)"), std::string::npos);
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "irsa-unit-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  fs::path dir_;
};

TEST_F(TempDirTest, FileWatcherSeesKubeletStyleSymlinkSwap) {
  // dir/config.yaml -> ..data/config.yaml; ..data -> ..v1, then swapped to ..v2.
  fs::create_directories(dir_ / "..v1");
  fs::create_directories(dir_ / "..v2");
  Write(dir_ / "..v1" / "config.yaml", "a: 1\n");
  Write(dir_ / "..v2" / "config.yaml", "a: 2\n");  // same size, maybe same mtime
  fs::create_directory_symlink("..v1", dir_ / "..data");
  fs::create_symlink("..data/config.yaml", dir_ / "config.yaml");

  FileWatcher watcher;
  int changes = 0;
  watcher.Watch({(dir_ / "config.yaml").string()}, [&] { ++changes; });
  EXPECT_EQ(watcher.Poll(), 0U);
  fs::create_directory_symlink("..v2", dir_ / "..data.tmp");
  fs::rename(dir_ / "..data.tmp", dir_ / "..data");
  EXPECT_EQ(watcher.Poll(), 1U);
  EXPECT_EQ(changes, 1);
  EXPECT_EQ(watcher.Poll(), 0U);
  fs::remove(dir_ / "..data");  // gone: a change too
  EXPECT_EQ(watcher.Poll(), 1U);
  EXPECT_EQ(changes, 2);
}

TEST_F(TempDirTest, ConfigStoreKeepsLastGoodConfig) {
  const fs::path file = dir_ / "config.yaml";
  Write(file, "region: us-east-1\n");
  ConfigStore store(file.string());
  ASSERT_TRUE(store.Reload().ok());
  const auto first = store.Current();
  EXPECT_EQ(first->region, "us-east-1");
  Write(file, "region: [not, a, string]\n");
  const Status bad = store.Reload();
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("config.yaml"), std::string::npos) << bad.message();
  EXPECT_EQ(store.Current(), first);
  Write(file, "region: eu-west-1\n");
  ASSERT_TRUE(store.Reload().ok());
  EXPECT_EQ(store.Current()->region, "eu-west-1");
  EXPECT_EQ(first->region, "us-east-1");  // a request holding the old snapshot keeps it
}

TEST_F(TempDirTest, ConfigStoreRefusesAnotherAnnotationPrefixOnReload) {
  const fs::path file = dir_ / "config.yaml";
  Write(file, "annotationPrefix: eks.amazonaws.com\nregion: us-east-1\n");
  ConfigStore store(file.string());
  ASSERT_TRUE(store.Reload().ok());
  Write(file, "annotationPrefix: irsa.example.com\nregion: eu-west-1\n");
  const Status refused = store.Reload();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("annotationPrefix: changed from \"eks.amazonaws.com\" to "
                                   "\"irsa.example.com\""),
            std::string::npos)
      << refused.message();
  EXPECT_EQ(store.Current()->region, "us-east-1");  // the last good config stays
  Write(file, "region: eu-west-1\n");               // the default prefix is the same one
  ASSERT_TRUE(store.Reload().ok());
  EXPECT_EQ(store.Current()->region, "eu-west-1");
}

// The state a request handler shares with other requests and with the housekeeping thread —
// the config snapshot, an AdmissionReviewer per request, the metrics — driven from several
// threads at once while the config is reloaded and the metrics scraped, with no event loop or
// OpenSSL frame on the stack, so TSan reports any race in it directly.
TEST_F(TempDirTest, HandlerStateIsSafeUnderConcurrentRequestsReloadsAndScrapes) {
  const std::string role_a = "arn:aws:iam::111122223333:role/a";
  const std::string role_b = "arn:aws:iam::111122223333:role/b";
  const auto config_with = [](const std::string& role) {
    return "region: us-east-1\nbindings:\n  - name: app\n    roleArn: " + role +
           "\n    namespaces: [apps]\n    serviceAccounts: [app]\n";
  };
  const fs::path file = dir_ / "config.yaml";
  Write(file, config_with(role_a));
  ConfigStore store(file.string());
  ASSERT_TRUE(store.Reload().ok());
  Metrics metrics("test");
  const std::string review = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
    "request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},
    "resource":{"group":"","version":"v1","resource":"pods"},"namespace":"apps","operation":"CREATE",
    "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps"},
    "spec":{"serviceAccountName":"app","containers":[{"name":"c","image":"busybox"}]}}}})";

  constexpr int kRequestThreads = 4;
  constexpr int kRequestsPerThread = 300;
  std::atomic<bool> done{false};
  std::atomic<int> answered_a{0};
  std::atomic<int> answered_b{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kRequestThreads; ++t) {
    threads.emplace_back([&] {
      AdmissionReviewer reviewer;
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const std::shared_ptr<const Config> config = store.Current();
        auto reviewed = reviewer.Review(*config, review, nullptr);
        if (!reviewed.ok()) {
          ++wrong;
          continue;
        }
        metrics.ObserveAdmission("", "Pod", "CREATE", reviewed->result.mutation.outcome, 0.0001);
        const auto response = nlohmann::json::parse(reviewed->response);
        const std::string patch = response["response"].value("patch", "");
        if (!patch.empty()) {
          const std::string decoded = test::Base64Decode(patch);
          if (decoded.find(role_a) != std::string::npos) {
            ++answered_a;
          } else if (decoded.find(role_b) != std::string::npos) {
            ++answered_b;
          } else {
            ++wrong;
          }
        } else {
          ++wrong;
        }
      }
    });
  }
  std::thread reloader([&] {
    for (int i = 0; !done.load(); ++i) {
      const fs::path next = dir_ / ("next-" + std::to_string(i % 2) + ".yaml");
      Write(next, config_with(i % 2 == 0 ? role_b : role_a));
      fs::rename(next, file);
      if (!store.Reload().ok()) ++wrong;
      metrics.CountConfigReload(ReloadResult::kSuccess);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::thread scraper([&] {
    while (!done.load()) {
      if (metrics.Render().find("irsa_webhook_admission_requests_total") == std::string::npos)
        ++wrong;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (auto& thread : threads) thread.join();
  done = true;
  reloader.join();
  scraper.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered_a.load() + answered_b.load(), kRequestThreads * kRequestsPerThread);
  EXPECT_EQ(metrics.AdmissionCount("", "Pod", "CREATE", Outcome::kMutated),
            static_cast<std::uint64_t>(kRequestThreads * kRequestsPerThread));
}

}  // namespace
}  // namespace irsa::server
