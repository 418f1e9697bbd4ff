// Black-box test harness for `irsa-webhook serve`: a throwaway PKI made with the openssl CLI,
// the real binary started as a child process on 127.0.0.1, and clients that speak real TLS
// (cpp-httplib's SSLClient for HTTP, raw OpenSSL sockets for protocol-level and garbage tests).
//
// Never: asserts on wall-clock performance. Timeouts here are hang guards only.
// Thread-safety: TlsConnection and HTTP clients are per-thread; ServerProcess from one thread.
#pragma once

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace irsa::test {

// True in ASan and TSan builds (gcc defines __SANITIZE_*, clang has __has_feature). Cases whose
// size or timing only means something in the optimised build size themselves by it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Paths from the environment (IRSA_WEBHOOK_BINARY, IRSA_SOURCE_DIR; defaults from the build)
// and IRSA_KUBECTL, which CTest sets (tests/server/CMakeLists.txt); missing kubectl fails.
std::string BinaryPath();
std::string SourceDir();
std::string KubectlPath();

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Runs a shell command; returns its exit status and captures stdout.
int RunCommand(const std::string& command, std::string* output = nullptr);
std::string ReadFile(const fs::path& path);
void WriteFile(const fs::path& path, const std::string& content);
// Points `link` at `target` atomically (new symlink, then rename over the old one), as the
// kubelet does with a volume's `..data` link.
void AtomicSymlink(const fs::path& target, const fs::path& link);

// Lays out files the way the kubelet does for a Secret or ConfigMap volume:
// dir/<name> -> ..data/<name>, dir/..data -> ..<version>/.
class ProjectedVolume {
 public:
  explicit ProjectedVolume(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  // Writes a new version with `files` and swaps ..data to it atomically.
  void Publish(const std::map<std::string, std::string>& files) {
    const std::string version = "..v" + std::to_string(++version_);
    fs::create_directories(dir_ / version);
    for (const auto& [name, content] : files) {
      WriteFile(dir_ / version / name, content);
      if (!fs::is_symlink(dir_ / name)) fs::create_symlink(fs::path("..data") / name, dir_ / name);
    }
    AtomicSymlink(version, dir_ / "..data");
  }
  fs::path operator/(const std::string& name) const { return dir_ / name; }

 private:
  fs::path dir_;
  int version_ = 0;
};

// A CA and certificates signed by it, made with the openssl CLI (ECDSA P-256).
class Pki {
 public:
  Pki(fs::path dir, const std::string& ca_name);
  const fs::path& ca_cert() const { return ca_cert_; }
  // Issues a certificate; writes <name>.crt and <name>.key. Server certificates carry
  // IP:127.0.0.1 and DNS:localhost.
  struct Issued {
    fs::path cert;
    fs::path key;
  };
  Issued IssueServer(const std::string& name, const std::string& common_name);
  Issued IssueClient(const std::string& name, const std::string& common_name);

 private:
  Issued Issue(const std::string& name, const std::string& common_name,
               const std::string& extensions);
  fs::path dir_;
  fs::path ca_cert_;
  fs::path ca_key_;
};

int FreePort();

// `args` plus `--config examples/config.yaml` and `cert` as the serving certificate, unless
// `args` already names them: how the suites start `serve` by default.
std::vector<std::string> WithDefaultServeArgs(std::vector<std::string> args,
                                              const Pki::Issued& cert);

// The irsa-webhook binary, started with `serve` and the given flags on 127.0.0.1.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `irsa-webhook serve --bind-address 127.0.0.1 --port P --metrics-port M <args>`.
  void Start(const std::vector<std::string>& args, const fs::path& log_file);
  // Starts the binary with exactly `argv` (after the program name); for exit-code tests.
  void StartRaw(const std::vector<std::string>& argv, const fs::path& log_file);
  // Polls GET /readyz until 200. False if the process exited or `timeout` passed.
  bool WaitReady(std::chrono::milliseconds timeout = 30s);
  void Signal(int signo);
  // Exit status (WEXITSTATUS, or 128+signal), or nullopt if still running after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout = 60s);
  bool running();

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  fs::path log_file_;
  std::optional<int> status_;
};

// A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM", "Threads" as a count); nullopt when
// the process or the field is gone.
std::optional<std::size_t> ProcStatusValue(pid_t pid, const std::string& field);
// Resets VmHWM (peak RSS) of `pid` to its current RSS (/proc/<pid>/clear_refs); false if not
// permitted.
bool ResetPeakRss(pid_t pid);
// Raises this process's soft RLIMIT_NOFILE to at least `wanted` (up to the hard limit); returns
// the new soft limit. Child processes inherit it.
std::size_t RaiseFileLimit(std::size_t wanted);
// A plain TCP connection to 127.0.0.1:port with `timeout` on reads and writes; -1 on failure.
int ConnectTcp(int port, std::chrono::milliseconds timeout = 20s);
// True once the peer closes (EOF or reset) a plain socket within its read timeout; bytes
// received meanwhile are discarded.
bool WaitSocketClosed(int fd);
// The bytes of a TLS ClientHello as OpenSSL's client sends it (for half-finished handshakes).
std::string ClientHelloBytes();

// Plain-HTTP GET on the metrics port: status and body (status 0 = no answer).
std::pair<int, std::string> MetricsGet(int metrics_port, const std::string& path);
// One sample from a Prometheus text page, e.g. Sample(page, "x_total{a=\"b\"}"); 0 if absent
// (a labelled counter appears at its first increment).
double Sample(const std::string& page, const std::string& series);

// One scrape of one series from the metrics port. A scrape that fails (no answer within the
// client's timeouts, a status other than 200) has no value and says why: it must never read as
// 0, or a test waiting for a number hides a metrics port that stopped answering.
struct MetricReading {
  std::optional<double> value;
  std::string error;  // why there is no value
};
std::ostream& operator<<(std::ostream& out, const MetricReading& reading);
MetricReading ReadMetric(int metrics_port, const std::string& series);

// Scrapes `series` every 100 ms until `holds(value)` or `timeout` (a hang guard, not a
// performance bound). On failure the message names the series, what was awaited (`awaited`,
// e.g. ">= 2000"), how long, and the last reading: the value, or why the scrape failed.
::testing::AssertionResult WaitForMetric(int metrics_port, const std::string& series,
                                         const std::string& awaited,
                                         const std::function<bool(double)>& holds,
                                         std::chrono::milliseconds timeout);

// Raw TLS connection to 127.0.0.1:port.
struct TlsOptions {
  fs::path ca_file;  // verify the server with it; empty = no verification
  int min_version = 0;
  int max_version = 0;      // e.g. TLS1_1_VERSION
  int security_level = -1;  // -1 = OpenSSL default
  std::string cipher_list;  // TLS 1.2 suites offered (OpenSSL names); empty = default
  fs::path cert_file;       // client certificate
  fs::path key_file;
  std::chrono::milliseconds timeout = 20s;  // per read/write (hang guard)
};

class TlsConnection {
 public:
  // Connects and completes the handshake. On failure, ok() is false and error() says why.
  TlsConnection(int port, const TlsOptions& options);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // Common name of the server certificate.
  std::string PeerCommonName() const;
  int protocol_version() const;

  bool Write(const std::string& data);
  // Reads one HTTP/1.1 response (headers + Content-Length body). Empty optional on EOF/error.
  struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };
  std::optional<HttpResponse> ReadResponse();
  // Bytes received but not consumed by ReadResponse (after it failed: a partial response).
  std::size_t buffered() const { return buffer_.size(); }
  // True if the peer closes the connection (EOF or reset) within the read timeout.
  bool WaitClosed();
  // True if the peer has closed the connection or sent anything unasked (checked without
  // waiting), as Go's client notices on its idle keep-alive connections before reusing one.
  bool PeerClosed() const;
  // Sends close_notify and half-closes the socket: the server sees the end of the request
  // stream while this side can still read the answer.
  void CloseWrite();

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
  std::string error_;
  std::string buffer_;
};

// An HTTP/1.1 request with Content-Length.
std::string HttpRequest(const std::string& method, const std::string& path,
                        const std::string& content_type, const std::string& body,
                        bool close = false);

// Test inputs.
nlohmann::json ExamplePod();  // examples/psmdb-rs0-pod.yaml as JSON
nlohmann::json Review(const std::string& api_version, const std::string& uid,
                      const nlohmann::json& object, const std::string& kind = "Pod",
                      const std::string& operation = "CREATE", const std::string& ns = "psmdb");
std::string Base64Decode(const std::string& text);

}  // namespace irsa::test
