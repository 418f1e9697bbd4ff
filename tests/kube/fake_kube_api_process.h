// Starts and drives tests/kube/fake_kube_api (a real HTTPS process on 127.0.0.1) for tests.
//
// Owns: a private temporary directory (token file, TLS certificate, ready file), the child
// process, and the /fake/ control calls. Never: talks to anything but 127.0.0.1.
// Thread-safety: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>

#include "kube/kube_config.h"

namespace irsa::kube::testing {

class FakeKubeApiProcess {
 public:
  // `fixture`: a YAML/JSON List of objects (path), or empty.
  explicit FakeKubeApiProcess(std::string fixture = "", bool client_cert_auth = false);
  ~FakeKubeApiProcess();
  FakeKubeApiProcess(const FakeKubeApiProcess&) = delete;
  FakeKubeApiProcess& operator=(const FakeKubeApiProcess&) = delete;

  // Starts the server (port 0 = any free port) and waits until it listens. False on failure.
  bool Start(int port = 0, long long initial_resource_version = 1000);
  // SIGTERM, and waits for the process to end.
  void Stop();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/tls/tls.crt"; }
  std::string key_file() const { return dir_ + "/tls/tls.key"; }
  std::string server_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // The token the server accepts (re-read by it on every request).
  void SetAcceptedToken(const std::string& token);
  // A client-side token file, for kube configs that use tokenFile.
  std::string client_token_file() const { return dir_ + "/client-token"; }
  void SetClientToken(const std::string& token);

  // A KubeConfig with the CA file and the client token file.
  KubeConfig Config() const;
  // Writes a kubeconfig file (token file, CA file) and returns its path.
  std::string WriteKubeconfig() const;

  nlohmann::json Control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr) const;
  nlohmann::json Requests() const { return Control("GET", "/fake/requests"); }
  nlohmann::json Patches() const { return Control("GET", "/fake/patches"); }
  nlohmann::json Object(const std::string& resource, const std::string& ns,
                        const std::string& name) const;

 private:
  std::string fixture_;
  bool client_cert_auth_;
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Writes `text` to `path` (replacing it).
void WriteFile(const std::string& path, const std::string& text);
// Directory of the test data files.
std::string TestDataDir();

}  // namespace irsa::kube::testing
