// The webhook's own CA and serving certificate (the chart's default `self-signed` mode): made,
// checked and renewed by `irsa-webhook certificates`, which a Helm hook and a CronJob run, so
// that nothing random is rendered into the manifests and the certificate is renewed before it
// expires without a `helm upgrade`.
//
// Owns: key and certificate generation (ECDSA P-256, SHA-256), reading the facts of a PEM
// certificate, and the plan of what to renew (a pure function of what is stored and the time).
// Never: talks to the API server or the file system; logs.
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "irsa/status.h"

namespace irsa::kube {

struct CertificateAndKey {
  std::string cert_pem;
  std::string key_pem;
};

struct CertificateFacts {
  std::int64_t not_before = 0;  // Unix time
  std::int64_t not_after = 0;
  bool is_ca = false;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries, in certificate order
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1")
};

// A self-signed CA valid from `now` (minus a small clock-skew allowance) for `days`.
Result<CertificateAndKey> GenerateCa(const std::string& common_name, int days, std::int64_t now);
// A serving certificate for `dns_names` (the first is also the common name) and
// `ip_addresses`, signed by `ca`.
Result<CertificateAndKey> IssueServingCertificate(
    const CertificateAndKey& ca, const std::vector<std::string>& dns_names, int days,
    std::int64_t now, const std::vector<std::string>& ip_addresses = {});
// Parses the first certificate of a PEM text. Errors say what is wrong with it.
Result<CertificateFacts> InspectCertificate(const std::string& cert_pem);
// True when `key_pem` is the private key of `cert_pem`.
bool KeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem);
// True when `cert_pem` verifies against the CA certificate `ca_pem` at time `now`.
bool SignedBy(const std::string& cert_pem, const std::string& ca_pem, std::int64_t now);

struct CertificatePolicy {
  std::vector<std::string> dns_names;     // what the serving certificate must cover
  std::vector<std::string> ip_addresses;  // and these addresses (a webhook called by URL)
  int ca_days = 3650;
  int serving_days = 365;
  int renew_before_days = 30;  // renew what expires within this many days
};

// What is stored now (an absent or unreadable Secret is nullopt / empty strings).
struct StoredCertificates {
  std::optional<CertificateAndKey> ca;
  std::optional<CertificateAndKey> serving;
};

struct CertificatePlan {
  bool new_ca = false;
  bool new_serving = false;
  std::string reason;  // for people: why something is renewed, or "valid until ..."
};

// Pure: a CA is renewed when missing, unreadable, not a CA, its key does not match, or it
// expires within renew_before_days; the serving certificate also when its names differ from
// the policy's or it is not signed by the (current) CA.
CertificatePlan PlanCertificates(const StoredCertificates& stored, const CertificatePolicy& policy,
                                 std::int64_t now);

}  // namespace irsa::kube
