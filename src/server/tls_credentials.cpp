#include "tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <ctime>

#include "irsa/text.h"

namespace irsa::server {
namespace {

// Session-id context: required for session resumption when client certificates are verified.
constexpr std::string_view kSessionIdContext = "irsa-webhook";
// TLS 1.2 suites: forward-secret AEAD only (Mozilla "intermediate"); TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string OpenSslError() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string X509NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string Asn1TimeText(const ASN1_TIME* time) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), time);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

struct TlsCredentials::Material {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509) * chain = nullptr;              // intermediates after the leaf
  X509_STORE* client_store = nullptr;            // trust anchors for client certificates
  STACK_OF(X509_NAME) * client_names = nullptr;  // sent in CertificateRequest

  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material() {
    X509_free(cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_free(client_store);
    sk_X509_NAME_pop_free(client_names, X509_NAME_free);
  }
};

Result<TlsMinVersion> ParseTlsMinVersion(std::string_view text) {
  if (text == "1.2") return TlsMinVersion::kTls12;
  if (text == "1.3") return TlsMinVersion::kTls13;
  return Status::Error("--tls-min-version must be 1.2 or 1.3, not " + Quote(text));
}

TlsCredentials::TlsCredentials(TlsFiles files, TlsMinVersion min_version)
    : files_(std::move(files)), min_version_(min_version) {}

TlsCredentials::~TlsCredentials() = default;

Status TlsCredentials::Reload() {
  ERR_clear_error();
  auto material = std::make_shared<Material>();

  BioPtr cert_bio(BIO_new_file(files_.cert_file.c_str(), "r"));
  if (!cert_bio) return Status::Error(files_.cert_file + ": cannot open: " + OpenSslError());
  material->cert = PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, nullptr, nullptr);
  if (material->cert == nullptr) {
    return Status::Error(files_.cert_file + ": no PEM certificate: " + OpenSslError());
  }
  material->chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(material->chain, extra);
  }
  ERR_clear_error();  // the loop ends on "no start line"

  BioPtr key_bio(BIO_new_file(files_.key_file.c_str(), "r"));
  if (!key_bio) return Status::Error(files_.key_file + ": cannot open: " + OpenSslError());
  material->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (material->key == nullptr) {
    return Status::Error(files_.key_file + ": no PEM private key: " + OpenSslError());
  }
  if (X509_check_private_key(material->cert, material->key) != 1) {
    ERR_clear_error();
    return Status::Error(files_.key_file + ": private key does not match the certificate in " +
                         files_.cert_file);
  }

  if (!files_.client_ca_file.empty()) {
    material->client_store = X509_STORE_new();
    if (X509_STORE_load_file(material->client_store, files_.client_ca_file.c_str()) != 1) {
      return Status::Error(files_.client_ca_file + ": no PEM CA certificate: " + OpenSslError());
    }
    material->client_names = SSL_load_client_CA_file(files_.client_ca_file.c_str());
    if (material->client_names == nullptr) {
      return Status::Error(files_.client_ca_file + ": no PEM CA certificate: " + OpenSslError());
    }
  }
  std::shared_ptr<const Material> next = std::move(material);
  std::lock_guard<std::mutex> lock(mutex_);
  current_.swap(next);  // the old set is freed outside the lock, by `next`
  return Status::Ok();
}

std::shared_ptr<const TlsCredentials::Material> TlsCredentials::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

std::string TlsCredentials::Describe() const {
  const auto material = Current();
  if (!material) return "none";
  return "subject=" + X509NameText(X509_get_subject_name(material->cert)) +
         ", notAfter=" + Asn1TimeText(X509_get0_notAfter(material->cert));
}

std::optional<std::int64_t> TlsCredentials::NotAfterUnixSeconds() const {
  const auto material = Current();
  if (!material) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(material->cert), &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(::timegm(&tm));
}

int TlsCredentials::CertificateCallback(SSL* ssl, void* arg) {
  const auto* self = static_cast<const TlsCredentials*>(arg);
  const auto material = self->Current();
  if (!material) return 0;  // aborts the handshake
  if (SSL_use_cert_and_key(ssl, material->cert, material->key, material->chain, 1) != 1) return 0;
  if (material->client_store != nullptr) {
    if (SSL_set1_verify_cert_store(ssl, material->client_store) != 1) return 0;
    STACK_OF(X509_NAME)* names = SSL_dup_CA_list(material->client_names);
    if (names == nullptr) return 0;
    SSL_set_client_CA_list(ssl, names);  // takes ownership
  }
  return 1;
}

bool TlsCredentials::ConfigureContext(SSL_CTX& ctx) const {
  const int min_version = min_version_ == TlsMinVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(&ctx, min_version) != 1) return false;
  SSL_CTX_set_options(
      &ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) != 1) return false;
  if (SSL_CTX_set_session_id_context(
          &ctx, reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
          static_cast<unsigned int>(kSessionIdContext.size())) != 1) {
    return false;
  }
  SSL_CTX_set_cert_cb(&ctx, &TlsCredentials::CertificateCallback,
                      const_cast<TlsCredentials*>(this));
  if (!files_.client_ca_file.empty()) {
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return true;
}

}  // namespace irsa::server
