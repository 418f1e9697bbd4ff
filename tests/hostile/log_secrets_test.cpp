// Env values, annotations and tokens never reach the server's log (issue 8, docs/security.md):
// secret values are sent through the real server at --log-level debug, inside valid reviews,
// malformed ones (where parser errors quote the input), wrong-typed fields, headers and the
// query string; then the whole log is searched for them.
#include <string>
#include <vector>

#include "hostile_fixture.h"

namespace irsa::test {
namespace {

// Distinct, unlikely strings; each also checked by its first 12 characters (a cut value).
const char* const kEnvSecret = "envSECRET-6c1f0a32-value";
const char* const kAnnotationSecret = "annSECRET-9b3e6f0c-value";
const char* const kTokenSecret =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cHNtZGIifQ."
    "tokSECRET-2b9a7d11";
const char* const kHeaderSecret = "hdrSECRET-4a55-bearer";
const char* const kQuerySecret = "qrySECRET-8d1e-param";

class LogSecretsTest : public HostileServerTest {
 protected:
  // A pod carrying the secrets where users put them.
  static json SecretPod() {
    json pod = ExamplePod();
    pod["spec"]["containers"][0]["env"].push_back({{"name", "DB_PASSWORD"}, {"value", kEnvSecret}});
    pod["spec"]["initContainers"][0]["env"] =
        json::array({{{"name", "TOKEN"}, {"value", kTokenSecret}}});
    pod["metadata"]["annotations"]["example.com/api-key"] = kAnnotationSecret;
    return pod;
  }

  // Sends raw bytes on a fresh TLS connection and reads one answer (or none).
  void SendRaw(const std::string& request) {
    TlsConnection conn(server_.port(), Verified());
    ASSERT_TRUE(conn.ok()) << conn.error();
    ASSERT_TRUE(conn.Write(request));
    conn.ReadResponse();
  }

  void RunCases() {
    auto client = Client();
    const std::string valid = Review("admission.k8s.io/v1", "secret-valid", SecretPod()).dump();
    // 1. Valid reviews: a mutated pod, a ServiceAccount with a token-like annotation, dry run.
    ExpectAnswer(*client, valid, "valid pod with secrets");
    json sa = {{"apiVersion", "v1"},
               {"kind", "ServiceAccount"},
               {"metadata",
                {{"name", "default"},
                 {"namespace", "psmdb"},
                 {"annotations", {{"example.com/token", kTokenSecret}}}}},
               {"secrets", json::array({{{"name", kAnnotationSecret}}})}};
    ExpectAnswer(*client, Review("admission.k8s.io/v1", "secret-sa", sa, "ServiceAccount").dump(),
                 "ServiceAccount");
    json dry = json::parse(valid);
    dry["request"]["dryRun"] = true;
    dry["request"]["uid"] = "secret-dry-run";
    ExpectAnswer(*client, dry.dump(), "dry run");
    // 2. Malformed bodies with the error right after a secret: parsers like to quote what
    // they read last.
    const auto cut_after = [&](const std::string& secret, const std::string& tail) {
      const std::size_t at = valid.find(secret);
      EXPECT_NE(at, std::string::npos);
      return valid.substr(0, at + secret.size()) + tail;
    };
    for (const std::string secret : {kEnvSecret, kAnnotationSecret, kTokenSecret}) {
      ExpectAnswer(*client, cut_after(secret, "\x01\"}]}}}"), "control character after a secret");
      ExpectAnswer(*client, cut_after(secret, "\xff\"}]}}}"), "invalid UTF-8 after a secret");
      ExpectAnswer(*client, cut_after(secret, ""), "body cut inside a secret");
      ExpectAnswer(*client, cut_after(secret, "\" oops"), "syntax error after a secret");
    }
    // 3. Wrong types next to a secret: the pod reader's errors name paths, never values.
    json wrong = json::parse(valid);
    wrong["request"]["uid"] = "secret-wrong-type";
    for (auto& env : wrong["request"]["object"]["spec"]["containers"][0]["env"]) {
      if (env["value"] == kEnvSecret) env["name"] = json::array({kEnvSecret});
    }
    ExpectAnswer(*client, wrong.dump(), "wrong-typed env name holding a secret");
    json label = json::parse(valid);
    label["request"]["uid"] = "secret-label";
    label["request"]["object"]["metadata"]["labels"]["app"] =
        json::object({{"v", kAnnotationSecret}});
    ExpectAnswer(*client, label.dump(), "label value holding a secret");
    // 4. Headers and the query string.
    SendRaw("POST /mutate?token=" + std::string(kQuerySecret) +
            " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + kHeaderSecret +
            "\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(valid.size()) + "\r\n\r\n" + valid);
    SendRaw("GET /other?token=" + std::string(kQuerySecret) +
            " HTTP/1.1\r\nHost: localhost\r\nCookie: s=" + kHeaderSecret + "\r\n\r\n");
    SendRaw("POST /mutate HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + std::string(kHeaderSecret) +
            "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(valid.size()) +
            "\r\n\r\n" + valid);
  }

  void ExpectNoSecretsInLog() {
    ASSERT_TRUE(Eventually([&] { return server_.log().find("secret-label") != std::string::npos; }))
        << "the admission lines never reached the log: the search below would prove nothing";
    server_.Signal(SIGTERM);
    ASSERT_EQ(server_.Wait(), 0);  // flushed and complete
    const std::string log = server_.log();
    EXPECT_NE(log.find("\"level\":\"debug\""), std::string::npos) << "not a debug log";
    EXPECT_NE(log.find("secret-valid"), std::string::npos) << "uids are logged";
    for (const std::string secret :
         {kEnvSecret, kAnnotationSecret, kTokenSecret, kHeaderSecret, kQuerySecret}) {
      EXPECT_EQ(log.find(secret), std::string::npos) << "a secret reached the log: " << secret;
      EXPECT_EQ(log.find(secret.substr(0, 12)), std::string::npos)
          << "part of a secret reached the log: " << secret;
    }
    // The token's signature part alone.
    EXPECT_EQ(log.find("tokSECRET"), std::string::npos);
    std::printf("[ log      ] %zu bytes searched\n", log.size());
  }
};

TEST_F(LogSecretsTest, SecretsNeverReachTheJsonLogAtDebugLevel) {
  Start({"--log-level", "debug"});
  RunCases();
  ExpectNoSecretsInLog();
}

TEST_F(LogSecretsTest, SecretsNeverReachTheTextLogAtDebugLevel) {
  Start({"--log-level", "debug", "--log-format", "text"});
  RunCases();
  ASSERT_TRUE(Eventually([&] { return server_.log().find("secret-label") != std::string::npos; }));
  server_.Signal(SIGTERM);
  ASSERT_EQ(server_.Wait(), 0);
  const std::string log = server_.log();
  EXPECT_NE(log.find("secret-valid"), std::string::npos);
  for (const std::string secret :
       {kEnvSecret, kAnnotationSecret, kTokenSecret, kHeaderSecret, kQuerySecret}) {
    EXPECT_EQ(log.find(secret.substr(0, 12)), std::string::npos)
        << "a secret reached the log: " << secret;
  }
}

}  // namespace
}  // namespace irsa::test
