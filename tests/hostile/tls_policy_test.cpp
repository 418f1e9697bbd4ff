// The TLS policy of the webhook port, seen from clients (docs/security.md): TLS 1.0 and 1.1 are
// refused, TLS 1.2 only with forward-secret AEAD suites (no CBC, no RSA key exchange, no RC4,
// 3DES, NULL or export suites), TLS 1.3 works, --tls-min-version 1.3 refuses TLS 1.2.
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "hostile_fixture.h"

namespace irsa::test {
namespace {

// Sends a TLS 1.2 ClientHello offering only `suites` (IANA numbers) and returns the first
// bytes of the answer: a ServerHello (0x16) or an alert (0x15, level, description).
// OpenSSL 3 cannot even offer RC4 or 3DES, so the hello is written by hand.
std::string AnswerToClientHello(int port, const std::vector<std::uint16_t>& suites) {
  const auto u16 = [](std::uint16_t v) {
    return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  };
  const auto extension = [&](std::uint16_t type, const std::string& body) {
    return u16(type) + u16(static_cast<std::uint16_t>(body.size())) + body;
  };
  const std::string extensions =
      extension(10, u16(4) + u16(23) + u16(29)) +  // groups: P-256, X25519
      extension(11, std::string("\x01\x00", 2)) +  // point formats
      extension(13, u16(8) + u16(0x0403) + u16(0x0804) + u16(0x0401) + u16(0x0201));
  std::string cipher_bytes;
  for (const auto suite : suites) cipher_bytes += u16(suite);
  const std::string body =
      std::string("\x03\x03", 2) + std::string(32, 'r') + std::string(1, '\0') +
      u16(static_cast<std::uint16_t>(cipher_bytes.size())) + cipher_bytes +
      std::string("\x01\x00", 2) + u16(static_cast<std::uint16_t>(extensions.size())) + extensions;
  const std::string handshake = std::string(1, '\x01') + std::string(1, '\0') +
                                u16(static_cast<std::uint16_t>(body.size())) + body;
  const std::string record = std::string("\x16\x03\x01", 3) +
                             u16(static_cast<std::uint16_t>(handshake.size())) + handshake;
  const int fd = ConnectTcp(port);
  if (fd < 0) return "";
  ::send(fd, record.data(), record.size(), MSG_NOSIGNAL);
  char answer[16] = {};
  const ssize_t n = ::recv(fd, answer, sizeof(answer), MSG_WAITALL);
  ::close(fd);
  return std::string(answer, n > 0 ? static_cast<std::size_t>(n) : 0);
}

bool IsHandshakeFailureAlert(const std::string& answer) {
  return answer.size() >= 7 && answer[0] == '\x15' && answer[5] == '\x02' &&
         answer[6] == '\x28';  // fatal 40
}

TEST_F(HostileServerTest, TlsPolicyRefusesOldProtocolsAndWeakSuites) {
  Start();
  // TLS 1.0 and 1.1, even from a client that allows everything.
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsOptions old = Verified();
    old.min_version = version;
    old.max_version = version;
    old.security_level = 0;
    TlsConnection conn(server_.port(), old);
    EXPECT_FALSE(conn.ok()) << "protocol " << std::hex << version << " accepted";
    EXPECT_NE(conn.error().find("protocol version"), std::string::npos) << conn.error();
  }
  // TLS 1.2 suites OpenSSL can still offer: CBC, RSA key exchange, SHA-1 MACs.
  for (const std::string suite :
       {"AES128-SHA", "AES256-SHA256", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA384", "DHE-RSA-AES128-GCM-SHA256"}) {
    TlsOptions weak = Verified();
    weak.max_version = TLS1_2_VERSION;
    weak.cipher_list = suite;
    TlsConnection conn(server_.port(), weak);
    EXPECT_FALSE(conn.ok()) << suite << " accepted";
  }
  // Suites OpenSSL 3 no longer offers, in a hand-written hello: RC4, 3DES, NULL, export.
  const std::vector<std::pair<std::string, std::vector<std::uint16_t>>> legacy = {
      {"RC4-SHA, RC4-MD5", {0x0005, 0x0004}},
      {"DES-CBC3-SHA, ECDHE-ECDSA-DES-CBC3-SHA", {0x000a, 0xc008}},
      {"NULL-SHA, NULL-MD5", {0x0002, 0x0001}},
      {"EXP-RC4-MD5, EXP-DES-CBC-SHA", {0x0003, 0x0008}},
  };
  for (const auto& [name, suites] : legacy) {
    EXPECT_TRUE(IsHandshakeFailureAlert(AnswerToClientHello(server_.port(), suites)))
        << name << " not refused";
  }
  // The same hand-written hello with a suite the server allows gets a ServerHello: the refusals
  // above are about the suites, not the hello.
  const std::string accepted =
      AnswerToClientHello(server_.port(), {0xc02b});  // ECDHE-ECDSA-AES128-GCM-SHA256
  ASSERT_FALSE(accepted.empty());
  EXPECT_EQ(accepted[0], '\x16');
  // What a default client negotiates.
  TlsOptions tls12 = Verified();
  tls12.max_version = TLS1_2_VERSION;
  TlsConnection ok12(server_.port(), tls12);
  ASSERT_TRUE(ok12.ok()) << ok12.error();
  EXPECT_EQ(ok12.protocol_version(), TLS1_2_VERSION);
  TlsConnection ok13(server_.port(), Verified());
  ASSERT_TRUE(ok13.ok()) << ok13.error();
  EXPECT_EQ(ok13.protocol_version(), TLS1_3_VERSION);
  ExpectHealthy("TLS policy probes");
}

}  // namespace
}  // namespace irsa::test
