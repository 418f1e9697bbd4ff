#include "kube/webhook_certificates.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace irsa::kube {
namespace {

// notBefore is set this far before `now`, so a node whose clock is slightly behind accepts it.
constexpr long kClockSkewSeconds = 300;
// Random serial numbers of this many bits (RFC 5280 allows up to 20 octets, positive).
constexpr int kSerialBits = 127;
constexpr std::int64_t kSecondsPerDay = 86400;

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

std::string OpenSslError(const std::string& what) {
  std::string out = what;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    out += ": ";
    out += buffer;
  }
  ERR_clear_error();
  return out;
}

Owned<X509> ParseCert(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Owned<EVP_PKEY> ParseKey(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string ToPem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::int64_t ToUnix(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate with a fresh P-256 key, serial, validity and subject; not yet signed.
Result<std::pair<Owned<X509>, Owned<EVP_PKEY>>> NewCertificate(const std::string& common_name,
                                                               int days, std::int64_t now) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return Status::Error(OpenSslError("cannot generate a P-256 key"));
  Owned<X509> cert(X509_new());
  Owned<BIGNUM> serial(BN_new());
  if (!cert || !serial ||
      BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Status::Error(OpenSslError("cannot make a certificate serial number"));
  }
  std::time_t at = static_cast<std::time_t>(now);
  X509_set_version(cert.get(), 2);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -kClockSkewSeconds, &at);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &at);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_pubkey(cert.get(), key.get());
  return std::make_pair(std::move(cert), std::move(key));
}

}  // namespace

Result<CertificateAndKey> GenerateCa(const std::string& common_name, int days, std::int64_t now) {
  auto made = NewCertificate(common_name, days, now);
  if (!made.ok()) return made.status();
  auto& [cert, key] = *made;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  if (!AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return Status::Error(OpenSslError("cannot sign the CA certificate"));
  }
  return CertificateAndKey{ToPem(cert.get()), ToPem(key.get())};
}

Result<CertificateAndKey> IssueServingCertificate(const CertificateAndKey& ca,
                                                  const std::vector<std::string>& dns_names,
                                                  int days, std::int64_t now,
                                                  const std::vector<std::string>& ip_addresses) {
  if (dns_names.empty()) return Status::Error("a serving certificate needs at least one DNS name");
  Owned<X509> ca_cert = ParseCert(ca.cert_pem);
  Owned<EVP_PKEY> ca_key = ParseKey(ca.key_pem);
  if (!ca_cert || !ca_key)
    return Status::Error(OpenSslError("cannot read the CA certificate or key"));
  auto made = NewCertificate(dns_names.front(), days, now);
  if (!made.ok()) return made.status();
  auto& [cert, key] = *made;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  std::string san;
  for (const auto& name : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth") ||
      !AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always") ||
      !AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san.c_str()) ||
      X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) {
    return Status::Error(OpenSslError("cannot sign the serving certificate"));
  }
  return CertificateAndKey{ToPem(cert.get()), ToPem(key.get())};
}

Result<CertificateFacts> InspectCertificate(const std::string& cert_pem) {
  Owned<X509> cert = ParseCert(cert_pem);
  if (!cert) return Status::Error(OpenSslError("not a PEM certificate"));
  CertificateFacts facts;
  facts.not_before = ToUnix(X509_get0_notBefore(cert.get()));
  facts.not_after = ToUnix(X509_get0_notAfter(cert.get()));
  facts.is_ca = X509_check_ca(cert.get()) != 0;
  Owned<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int length = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((length == 4 || length == 16) &&
          ::inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text,
                      sizeof(text)) != nullptr) {
        facts.ip_addresses.emplace_back(text);
      }
      continue;
    }
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    facts.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                 static_cast<std::size_t>(ASN1_STRING_length(dns)));
  }
  return facts;
}

bool KeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem) {
  Owned<X509> cert = ParseCert(cert_pem);
  Owned<EVP_PKEY> key = ParseKey(key_pem);
  const bool match = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return match;
}

bool SignedBy(const std::string& cert_pem, const std::string& ca_pem, std::int64_t now) {
  Owned<X509> cert = ParseCert(cert_pem);
  Owned<X509> ca = ParseCert(ca_pem);
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!cert || !ca || !store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<std::time_t>(now));
  const bool ok = X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

CertificatePlan PlanCertificates(const StoredCertificates& stored, const CertificatePolicy& policy,
                                 std::int64_t now) {
  CertificatePlan plan;
  const std::int64_t renew_at = now + policy.renew_before_days * kSecondsPerDay;
  const auto date = [](std::int64_t t) {
    char text[32];
    const std::time_t at = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&at, &tm);
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(text);
  };

  std::optional<CertificateFacts> ca;
  if (stored.ca) {
    if (auto facts = InspectCertificate(stored.ca->cert_pem); facts.ok()) ca = *facts;
  }
  if (!ca) {
    plan.new_ca = true;
    plan.reason = stored.ca ? "the stored CA certificate is unreadable" : "no CA yet";
  } else if (!ca->is_ca || !KeyMatchesCertificate(stored.ca->cert_pem, stored.ca->key_pem)) {
    plan.new_ca = true;
    plan.reason = "the stored CA is not a CA or its key does not match";
  } else if (ca->not_after <= renew_at) {
    plan.new_ca = true;
    plan.reason = "the CA expires " + date(ca->not_after) + ", within " +
                  std::to_string(policy.renew_before_days) + " days";
  }
  if (plan.new_ca) {
    plan.new_serving = true;
    return plan;
  }

  std::optional<CertificateFacts> serving;
  if (stored.serving) {
    if (auto facts = InspectCertificate(stored.serving->cert_pem); facts.ok()) serving = *facts;
  }
  plan.new_serving = true;
  if (!serving) {
    plan.reason = stored.serving ? "the stored serving certificate is unreadable"
                                 : "no serving certificate yet";
  } else if (!KeyMatchesCertificate(stored.serving->cert_pem, stored.serving->key_pem)) {
    plan.reason = "the serving certificate's key does not match";
  } else if (!SignedBy(stored.serving->cert_pem, stored.ca->cert_pem, now)) {
    plan.reason = "the serving certificate is not signed by the current CA";
  } else if (serving->dns_names != policy.dns_names ||
             serving->ip_addresses != policy.ip_addresses) {
    plan.reason = "the serving certificate's names differ from the ones required";
  } else if (serving->not_after <= renew_at) {
    plan.reason = "the serving certificate expires " + date(serving->not_after) + ", within " +
                  std::to_string(policy.renew_before_days) + " days";
  } else {
    plan.new_serving = false;
    plan.reason =
        "valid until " + date(serving->not_after) + " (CA until " + date(ca->not_after) + ")";
  }
  return plan;
}

}  // namespace irsa::kube
