#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "irsa/document.h"

extern char** environ;

namespace irsa::test {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string("environment variable ") + name +
                             " is not set (run the tests through ctest)");
  }
  return value;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string OpenSslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out;
}

}  // namespace

// The environment wins; the build provides defaults (tests/server/CMakeLists.txt).
std::string BinaryPath() {
  const char* value = std::getenv("IRSA_WEBHOOK_BINARY");
  return value != nullptr && *value != '\0' ? value : IRSA_WEBHOOK_BINARY_DEFAULT;
}
std::string SourceDir() {
  const char* value = std::getenv("IRSA_SOURCE_DIR");
  return value != nullptr && *value != '\0' ? value : IRSA_SOURCE_DIR_DEFAULT;
}
std::string KubectlPath() { return Env("IRSA_KUBECTL"); }

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "irsa-server-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string captured;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) captured.append(buffer, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = std::move(captured);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void AtomicSymlink(const fs::path& target, const fs::path& link) {
  const fs::path temp = link.parent_path() / (link.filename().string() + ".tmp");
  std::error_code ec;
  fs::remove(temp, ec);
  fs::create_symlink(target, temp);
  fs::rename(temp, link);  // rename(2) replaces the old link atomically
}

Pki::Pki(fs::path dir, const std::string& ca_name) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  ca_cert_ = dir_ / (ca_name + ".crt");
  ca_key_ = dir_ / (ca_name + ".key");
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj " +
      Quote("/CN=" + ca_name) + " -keyout " + Quote(ca_key_.string()) + " -out " +
      Quote(ca_cert_.string()) + " 2>&1";
  std::string output;
  if (RunCommand(command, &output) != 0) throw std::runtime_error("openssl (CA): " + output);
}

Pki::Issued Pki::Issue(const std::string& name, const std::string& common_name,
                       const std::string& extensions) {
  Issued issued{dir_ / (name + ".crt"), dir_ / (name + ".key")};
  const fs::path csr = dir_ / (name + ".csr");
  const fs::path ext = dir_ / (name + ".ext");
  WriteFile(ext, extensions);
  std::string output;
  std::string command = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj " +
                        Quote("/CN=" + common_name) + " -keyout " + Quote(issued.key.string()) +
                        " -out " + Quote(csr.string()) + " 2>&1";
  if (RunCommand(command, &output) != 0) throw std::runtime_error("openssl (key): " + output);
  command = "openssl x509 -req -days 2 -in " + Quote(csr.string()) + " -CA " +
            Quote(ca_cert_.string()) + " -CAkey " + Quote(ca_key_.string()) +
            " -CAcreateserial -extfile " + Quote(ext.string()) + " -out " +
            Quote(issued.cert.string()) + " 2>&1";
  if (RunCommand(command, &output) != 0) throw std::runtime_error("openssl (sign): " + output);
  return issued;
}

Pki::Issued Pki::IssueServer(const std::string& name, const std::string& common_name) {
  return Issue(name, common_name,
               "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
               "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
}

Pki::Issued Pki::IssueClient(const std::string& name, const std::string& common_name) {
  return Issue(
      name, common_name,
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n");
}

std::vector<std::string> WithDefaultServeArgs(std::vector<std::string> args,
                                              const Pki::Issued& cert) {
  const auto has = [&](const std::string& flag) {
    return std::find(args.begin(), args.end(), flag) != args.end();
  };
  if (!has("--config"))
    args.insert(args.end(), {"--config", SourceDir() + "/examples/config.yaml"});
  if (!has("--tls-cert-file")) {
    args.insert(args.end(),
                {"--tls-cert-file", cert.cert.string(), "--tls-key-file", cert.key.string()});
  }
  return args;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void ServerProcess::Start(const std::vector<std::string>& args, const fs::path& log_file) {
  port_ = FreePort();
  metrics_port_ = FreePort();
  while (metrics_port_ == port_) metrics_port_ = FreePort();
  std::vector<std::string> argv = {"serve",
                                   "--bind-address",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(port_),
                                   "--metrics-port",
                                   std::to_string(metrics_port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  StartRaw(argv, log_file);
}

void ServerProcess::StartRaw(const std::vector<std::string>& args, const fs::path& log_file) {
  log_file_ = log_file;
  const std::string binary = BinaryPath();
  std::vector<std::string> storage = {binary};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + binary);
  status_.reset();
}

bool ServerProcess::running() {
  if (status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

bool ServerProcess::WaitReady(std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    if (!running()) return false;
    if (MetricsGet(metrics_port_, "/readyz").first == 200) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void ServerProcess::Signal(int signo) {
  if (pid_ > 0 && !status_) ::kill(pid_, signo);
}

std::optional<int> ServerProcess::Wait(std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= give_up) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return status_;
}

std::string ServerProcess::log() const { return ReadFile(log_file_); }

std::optional<std::size_t> ProcStatusValue(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return static_cast<std::size_t>(std::strtoull(line.c_str() + field.size() + 1, nullptr, 10));
    }
  }
  return std::nullopt;
}

bool ResetPeakRss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::size_t RaiseFileLimit(std::size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY
                         ? static_cast<rlim_t>(wanted)
                         : std::min<rlim_t>(limit.rlim_max, static_cast<rlim_t>(wanted));
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<std::size_t>(limit.rlim_cur);
}

int ConnectTcp(int port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

bool WaitSocketClosed(int fd) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) continue;
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK &&
           errno != EINTR;  // reset: closed; timeout: not
  }
}

std::string ClientHelloBytes() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);  // the SSL object owns both
  SSL_connect(ssl);           // writes the ClientHello, then wants to read
  char* data = nullptr;
  const long n = BIO_ctrl(out, BIO_CTRL_INFO, 0, static_cast<void*>(&data));  // BIO_get_mem_data
  std::string hello(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

std::pair<int, std::string> MetricsGet(int metrics_port, const std::string& path) {
  httplib::Client client("127.0.0.1", metrics_port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  auto res = client.Get(path.c_str());
  if (!res) return {0, ""};
  return {res->status, res->body};
}

double Sample(const std::string& page, const std::string& series) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return 0;
}

std::ostream& operator<<(std::ostream& out, const MetricReading& reading) {
  if (reading.value) return out << *reading.value;
  return out << "no reading (" << reading.error << ")";
}

MetricReading ReadMetric(int metrics_port, const std::string& series) {
  httplib::Client client("127.0.0.1", metrics_port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  auto res = client.Get("/metrics");
  if (!res) {
    return {std::nullopt, "GET /metrics on port " + std::to_string(metrics_port) +
                              " failed: " + httplib::to_string(res.error())};
  }
  if (res->status != 200) {
    return {std::nullopt, "GET /metrics answered " + std::to_string(res->status)};
  }
  return {Sample(res->body, series), ""};
}

::testing::AssertionResult WaitForMetric(int metrics_port, const std::string& series,
                                         const std::string& awaited,
                                         const std::function<bool(double)>& holds,
                                         std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  MetricReading last;
  int scrapes = 0;
  int failed_scrapes = 0;
  while (true) {
    last = ReadMetric(metrics_port, series);
    ++scrapes;
    if (!last.value) ++failed_scrapes;
    if (last.value && holds(*last.value)) return ::testing::AssertionSuccess();
    if (std::chrono::steady_clock::now() - start >= timeout) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto waited =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  return ::testing::AssertionFailure() << "waited " << waited.count() << " s for " << series << " "
                                       << awaited << "; last reading: " << last << " ("
                                       << failed_scrapes << " of " << scrapes << " scrapes failed)";
}

TlsConnection::TlsConnection(int port, const TlsOptions& options) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (options.security_level >= 0) SSL_CTX_set_security_level(ctx_, options.security_level);
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx_, options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  if (options.max_version != 0 && options.max_version < TLS1_2_VERSION) {
    SSL_CTX_set_cipher_list(ctx_, "ALL:@SECLEVEL=0");
  }
  if (!options.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(ctx_, options.cipher_list.c_str()) != 1) {
    error_ = "cipher list: " + OpenSslErrors();
    return;
  }
  if (!options.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_file(ctx_, options.cert_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      error_ = "client certificate: " + OpenSslErrors();
      return;
    }
  }
  fd_ = ConnectTcp(port, options.timeout);
  if (fd_ < 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  if (!options.ca_file.empty()) SSL_set1_host(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) {
    error_ = "handshake: " + OpenSslErrors();
    if (error_ == "handshake: ") error_ += "connection closed";
    return;
  }
  ok_ = true;
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string TlsConnection::PeerCommonName() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return name;
}

int TlsConnection::protocol_version() const { return ssl_ != nullptr ? SSL_version(ssl_) : 0; }

bool TlsConnection::Write(const std::string& data) {
  if (!ok_) return false;
  std::size_t written = 0;
  while (written < data.size()) {
    const int n = SSL_write(ssl_, data.data() + written, static_cast<int>(data.size() - written));
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<TlsConnection::HttpResponse> TlsConnection::ReadResponse() {
  if (!ok_) return std::nullopt;
  char chunk[16384];
  const auto fill = [&]() -> bool {
    const int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t header_end = 0;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  HttpResponse response;
  std::istringstream head(buffer_.substr(0, header_end));
  std::string line;
  std::getline(head, line);
  if (line.size() < 12) return std::nullopt;
  response.status = std::atoi(line.c_str() + 9);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    response.headers[name] = value;
  }
  const std::size_t length =
      response.headers.count("content-length") ? std::stoul(response.headers["content-length"]) : 0;
  const std::size_t body_start = header_end + 4;
  while (buffer_.size() < body_start + length) {
    if (!fill()) return std::nullopt;
  }
  response.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return response;
}

bool TlsConnection::WaitClosed() {
  if (!ok_) return true;
  char chunk[4096];
  for (;;) {
    const int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n > 0) continue;
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_ZERO_RETURN) return true;
    if (error == SSL_ERROR_SYSCALL) return errno != EAGAIN && errno != EWOULDBLOCK;  // EOF or reset
    if (error == SSL_ERROR_SSL) return true;
    return false;  // timeout (hang guard)
  }
}

bool TlsConnection::PeerClosed() const {
  if (!ok_) return true;
  pollfd pfd{fd_, POLLIN | POLLRDHUP, 0};
  return ::poll(&pfd, 1, 0) != 0 || SSL_pending(ssl_) > 0;
}

void TlsConnection::CloseWrite() {
  if (!ok_) return;
  SSL_shutdown(ssl_);
  ::shutdown(fd_, SHUT_WR);
}

std::string HttpRequest(const std::string& method, const std::string& path,
                        const std::string& content_type, const std::string& body, bool close) {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!content_type.empty()) request += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) request += "Connection: close\r\n";
  request += "\r\n";
  return request + body;
}

nlohmann::json ExamplePod() {
  auto pod = irsa::LoadDocumentFile(SourceDir() + "/examples/psmdb-rs0-pod.yaml");
  if (!pod.ok()) throw std::runtime_error(pod.error());
  return *pod;
}

nlohmann::json Review(const std::string& api_version, const std::string& uid,
                      const nlohmann::json& object, const std::string& kind,
                      const std::string& operation, const std::string& ns) {
  const std::string resource = kind == "Pod"              ? "pods"
                               : kind == "ServiceAccount" ? "serviceaccounts"
                                                          : "others";
  nlohmann::json request = {
      {"uid", uid},
      {"kind", {{"group", ""}, {"version", "v1"}, {"kind", kind}}},
      {"resource", {{"group", ""}, {"version", "v1"}, {"resource", resource}}},
      {"namespace", ns},
      {"operation", operation},
      {"userInfo", {{"username", "system:serviceaccount:kube-system:statefulset-controller"}}},
      {"object", object},
      {"dryRun", false}};
  return {{"apiVersion", api_version}, {"kind", "AdmissionReview"}, {"request", request}};
}

std::string Base64Decode(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("invalid base64");
  std::size_t size = static_cast<std::size_t>(n);
  if (text.size() >= 1 && text[text.size() - 1] == '=') --size;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

}  // namespace irsa::test
