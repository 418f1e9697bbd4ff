// The webhook's own CA and serving certificate (src/kube/webhook_certificates): what is made is
// checked with the openssl CLI, and the renewal plan case by case.
#include "kube/webhook_certificates.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace irsa::kube {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15
constexpr std::int64_t kDay = 86400;

const std::vector<std::string> kNames = {"irsa-webhook.irsa.svc", "irsa-webhook",
                                         "irsa-webhook.irsa",
                                         "irsa-webhook.irsa.svc.cluster.local"};

CertificatePolicy Policy() {
  CertificatePolicy policy;
  policy.dns_names = kNames;
  policy.ca_days = 3650;
  policy.serving_days = 365;
  policy.renew_before_days = 30;
  return policy;
}

int RunShell(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, n);
  return ::pclose(pipe);
}

TEST(WebhookCertificates, OpensslVerifiesTheServingCertificateForTheServiceNames) {
  const auto now = static_cast<std::int64_t>(::time(nullptr));
  const auto ca = GenerateCa("irsa-webhook.irsa-ca", 3650, now);
  ASSERT_TRUE(ca.ok()) << ca.error();
  const auto serving = IssueServingCertificate(*ca, kNames, 365, now);
  ASSERT_TRUE(serving.ok()) << serving.error();
  const auto dir =
      std::filesystem::temp_directory_path() / ("irsa-certs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ca.crt") << ca->cert_pem;
  std::ofstream(dir / "tls.crt") << serving->cert_pem;
  for (const auto& name : kNames) {
    std::string output;
    EXPECT_EQ(RunShell("openssl verify -purpose sslserver -verify_hostname " + name + " -CAfile " +
                           (dir / "ca.crt").string() + " " + (dir / "tls.crt").string(),
                       &output),
              0)
        << name << ": " << output;
  }
  std::string output;
  EXPECT_NE(RunShell("openssl verify -purpose sslserver -verify_hostname other.irsa.svc -CAfile " +
                         (dir / "ca.crt").string() + " " + (dir / "tls.crt").string(),
                     &output),
            0);
  std::filesystem::remove_all(dir);

  const auto facts = InspectCertificate(serving->cert_pem);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->dns_names, kNames);
  EXPECT_FALSE(facts->is_ca);
  EXPECT_EQ(facts->not_after, now + 365 * kDay);
  EXPECT_TRUE(InspectCertificate(ca->cert_pem)->is_ca);
  EXPECT_TRUE(KeyMatchesCertificate(serving->cert_pem, serving->key_pem));
  EXPECT_FALSE(KeyMatchesCertificate(serving->cert_pem, ca->key_pem));
  EXPECT_TRUE(SignedBy(serving->cert_pem, ca->cert_pem, now));
}

TEST(WebhookCertificates, TwoRunsMakeDifferentKeys) {
  const auto a = GenerateCa("x", 10, kNow);
  const auto b = GenerateCa("x", 10, kNow);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->key_pem, b->key_pem);
  EXPECT_NE(a->cert_pem, b->cert_pem);
}

TEST(WebhookCertificates, PlanRenewsExactlyWhatIsDue) {
  const auto ca = *GenerateCa("ca", 3650, kNow);
  const auto other_ca = *GenerateCa("other", 3650, kNow);
  const auto serving = *IssueServingCertificate(ca, kNames, 365, kNow);
  const auto short_ca = *GenerateCa("ca", 40, kNow);
  const auto under_short_ca = *IssueServingCertificate(short_ca, kNames, 365, kNow);
  const auto wrong_names = *IssueServingCertificate(ca, {"old.irsa.svc"}, 365, kNow);
  const auto by_other_ca = *IssueServingCertificate(other_ca, kNames, 365, kNow);
  const CertificateAndKey mismatched{serving.cert_pem, other_ca.key_pem};
  const CertificateAndKey garbage{"not a certificate", "not a key"};

  struct Case {
    const char* name;
    StoredCertificates stored;
    std::int64_t now;
    bool new_ca;
    bool new_serving;
    const char* reason;
  };
  const Case cases[] = {
      {"nothing stored", {}, kNow, true, true, "no CA yet"},
      {"both valid", {ca, serving}, kNow, false, false, "valid until"},
      {"both valid, 300 days later", {ca, serving}, kNow + 300 * kDay, false, false, "valid until"},
      {"serving due in 29 days",
       {ca, serving},
       kNow + 336 * kDay,
       false,
       true,
       "the serving certificate expires"},
      {"CA due within 30 days",
       {short_ca, under_short_ca},
       kNow + 11 * kDay,
       true,
       true,
       "the CA expires"},
      {"serving missing", {ca, std::nullopt}, kNow, false, true, "no serving certificate yet"},
      {"serving unreadable", {ca, garbage}, kNow, false, true, "unreadable"},
      {"CA unreadable", {garbage, serving}, kNow, true, true, "unreadable"},
      {"CA is a serving certificate", {serving, serving}, kNow, true, true, "not a CA"},
      {"names changed", {ca, wrong_names}, kNow, false, true, "DNS names differ"},
      {"signed by another CA",
       {ca, by_other_ca},
       kNow,
       false,
       true,
       "not signed by the current CA"},
      {"key does not match", {ca, mismatched}, kNow, false, true, "key does not match"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const CertificatePlan plan = PlanCertificates(c.stored, Policy(), c.now);
    EXPECT_EQ(plan.new_ca, c.new_ca);
    EXPECT_EQ(plan.new_serving, c.new_serving);
    EXPECT_NE(plan.reason.find(c.reason), std::string::npos) << plan.reason;
  }
}

}  // namespace
}  // namespace irsa::kube
