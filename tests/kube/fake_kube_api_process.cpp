#include "fake_kube_api_process.h"

#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

extern char** environ;

namespace irsa::kube::testing {

namespace {
// Hang guard for the server to come up; it normally takes milliseconds.
constexpr std::chrono::seconds kStartTimeout{20};
}  // namespace

void WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);  // atomic, as the kubelet swaps token files
}

std::string TestDataDir() { return IRSA_KUBE_TESTDATA_DIR; }

FakeKubeApiProcess::FakeKubeApiProcess(std::string fixture, bool client_cert_auth)
    : fixture_(std::move(fixture)), client_cert_auth_(client_cert_auth) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fake-kube-api-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) != nullptr) dir_ = buffer.data();
  SetAcceptedToken("token-one");
  SetClientToken("token-one");
}

FakeKubeApiProcess::~FakeKubeApiProcess() {
  Stop();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

void FakeKubeApiProcess::SetAcceptedToken(const std::string& token) {
  WriteFile(dir_ + "/accepted-token", token + "\n");
}
void FakeKubeApiProcess::SetClientToken(const std::string& token) {
  WriteFile(client_token_file(), token + "\n");
}

bool FakeKubeApiProcess::Start(int port, long long initial_resource_version) {
  if (pid_ > 0 || dir_.empty()) return false;
  const std::string ready = dir_ + "/ready";
  std::filesystem::remove(ready);
  std::vector<std::string> args = {IRSA_FAKE_KUBE_API_PATH,
                                   "--token-file",
                                   dir_ + "/accepted-token",
                                   "--tls-dir",
                                   dir_ + "/tls",
                                   "--ready-file",
                                   ready,
                                   "--port",
                                   std::to_string(port),
                                   "--initial-resource-version",
                                   std::to_string(initial_resource_version)};
  if (!fixture_.empty()) {
    args.push_back("--fixture");
    args.push_back(fixture_);
  }
  if (client_cert_auth_) args.push_back("--client-cert-auth");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Under ThreadSanitizer, the fake (only) gets suppressions for its uninstrumented httplib.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("TSAN_OPTIONS=", 0) != 0) env_strings.emplace_back(*e);
  }
  const char* tsan = std::getenv("TSAN_OPTIONS");
  env_strings.push_back(std::string("TSAN_OPTIONS=") + (tsan != nullptr ? tsan : "") +
                        " suppressions=" + TestDataDir() + "/fake-kube-api.tsan.supp");
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) {
    pid_ = -1;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::ifstream in(ready);
    if (in >> port_ && port_ > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Stop();
  return false;
}

void FakeKubeApiProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  // Hang guard: a server that does not stop in time is killed.
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

KubeConfig FakeKubeApiProcess::Config() const {
  KubeConfig config;
  config.server = server_url();
  config.ca_file = ca_file();
  config.token_file = client_token_file();
  config.source = "fake kube api";
  return config;
}

std::string FakeKubeApiProcess::WriteKubeconfig() const {
  const std::string path = dir_ + "/kubeconfig";
  WriteFile(path,
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
            "clusters:\n- name: fake\n  cluster:\n    server: " +
                server_url() +
                "\n"
                "    certificate-authority: tls/tls.crt\n"
                "users:\n- name: tester\n  user:\n    tokenFile: client-token\n"
                "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n");
  return path;
}

nlohmann::json FakeKubeApiProcess::Control(const std::string& method, const std::string& path,
                                           const nlohmann::json& body) const {
  httplib::SSLClient client("127.0.0.1", port_, ca_file(),
                            key_file());  // own cert doubles as client cert
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  httplib::Result res =
      method == "GET" ? client.Get(path)
                      : client.Post(path, body.is_null() ? "{}" : body.dump(), "application/json");
  if (!res) return {{"error", httplib::to_string(res.error())}};
  return nlohmann::json::parse(res->body, nullptr, false);
}

nlohmann::json FakeKubeApiProcess::Object(const std::string& resource, const std::string& ns,
                                          const std::string& name) const {
  return Control("GET", "/fake/object?resource=" + resource + "&namespace=" + ns + "&name=" + name);
}

}  // namespace irsa::kube::testing
