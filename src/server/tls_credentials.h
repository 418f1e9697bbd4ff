// The serving certificate, its key and the optional client CA, and their reload without restart.
//
// Owns: loading and checking a PEM certificate chain + private key (the key must match the
// certificate) and the client CA bundle; the current set, held as a shared_ptr swapped under a
// mutex (only the pointer copy is locked); and the SSL_CTX settings of the webhook listener
// (minimum TLS version, AEAD ciphers, client-certificate verification). The SSL_CTX gets no
// certificate of its own: a certificate callback (SSL_CTX_set_cert_cb) hands every new handshake
// the set current at that moment, so a rotation takes effect for the next connection and never
// disturbs open ones. Never: installs a set that failed to load (the previous one stays), logs, or
// counts. Thread-safety: Reload() from one thread (housekeeping); the certificate callback runs on
// any number of connection threads concurrently with it. The object must outlive every SSL_CTX
// configured by ConfigureContext().
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "irsa/status.h"

namespace irsa::server {

enum class TlsMinVersion { kTls12, kTls13 };
// "1.2" | "1.3" (docs/reference.md section 2: older protocols are always refused).
Result<TlsMinVersion> ParseTlsMinVersion(std::string_view text);

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // empty: no client certificates requested
};

class TlsCredentials {
 public:
  TlsCredentials(TlsFiles files, TlsMinVersion min_version);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // Loads all files; on success the new set serves the next handshake. Errors name the file.
  Status Reload();
  bool loaded() const { return Current() != nullptr; }
  // "subject=..., notAfter=..." of the current certificate, for logs.
  std::string Describe() const;
  // notAfter of the current serving certificate (the leaf), as Unix time; nullopt before the
  // first successful load.
  std::optional<std::int64_t> NotAfterUnixSeconds() const;
  const TlsFiles& files() const { return files_; }

  // Applies protocol, cipher and verification settings and installs the certificate callback.
  // Returns false (with OpenSSL's error queue set) if the context rejects them.
  bool ConfigureContext(SSL_CTX& ctx) const;

 private:
  struct Material;
  static int CertificateCallback(SSL* ssl, void* arg);
  std::shared_ptr<const Material> Current() const;

  TlsFiles files_;
  TlsMinVersion min_version_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Material> current_;
};

}  // namespace irsa::server
