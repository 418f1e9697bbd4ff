// The fixture of the hostile-input and fault suites (issue 8): the real `irsa-webhook serve`
// binary on 127.0.0.1 with a throwaway CA (tests/server/harness.h), plus an oracle and the
// health check every case ends with.
//
// Owns: the oracle (the core library's reference path — DecodeAdmissionReview + Admit +
// EncodeAdmissionResponse — with the server's config), which gives the exact status and body
// the server must send for any body; ExpectHealthy(), which after each case checks that the
// process is alive, answers a valid review byte-for-byte as the oracle does (the patch
// included), and that its resident memory is under a bound.
// Never: asserts on wall-clock performance. Timeouts are hang guards; memory bounds are
// generous multiples of what the server needs, scaled for sanitizer builds.
// Thread-safety: one test at a time; helpers that take a client are safe per client.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "irsa/admission.h"
#include "irsa/config.h"

namespace irsa::test {

using nlohmann::json;

inline constexpr const char* kRoleArn = "arn:aws:iam::111122223333:role/psmdb-backup";

// Memory bounds are asserted only where they mean something: in the optimised build (the
// release CI configuration runs this suite too). Under ASan/TSan the allocator keeps a quarantine,
// per-thread caches and shadow memory, so resident memory says little about the server's; there
// the cases check liveness and exact answers and print the RSS for information.
inline constexpr bool kMemoryBoundsApply = !kSanitizedBuild;

// Resident memory the server may use after an ordinary case (idle it needs ~11 MB).
inline constexpr std::size_t kSteadyRssMb = 100;

class HostileServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void TearDown() override;

  // Starts the server with examples/config.yaml and the suite's certificate unless `args`
  // names them.
  void Start(std::vector<std::string> args = {});
  std::unique_ptr<httplib::SSLClient> Client() const;
  TlsOptions Verified() const;

  // What the server must answer to `body` on POST /mutate.
  struct Answer {
    int status = 0;
    std::string body;
  };
  Answer Expected(std::string_view body) const;
  // POSTs `body` and checks the answer against Expected(); `what` names the case.
  void ExpectAnswer(httplib::SSLClient& client, const std::string& body, const std::string& what);

  // After a case: the process runs, a fresh TLS connection gets the oracle's exact answer to a
  // valid review (with the role in the patch), and VmRSS is at most `rss_limit_mb`.
  void ExpectHealthy(const std::string& after, std::size_t rss_limit_mb = kSteadyRssMb);
  // VmRSS of the server in MB (0 if unknown).
  std::size_t RssMb() const;
  // One scrape of `series`; a failed scrape is a test failure (with its reason) and reads NaN,
  // which no comparison accepts.
  double Metric(const std::string& series) const;
  // Waits until `holds(value of series)`; the failure names what was awaited and what was seen.
  ::testing::AssertionResult MetricBecomes(const std::string& series, const std::string& awaited,
                                           const std::function<bool(double)>& holds,
                                           std::chrono::milliseconds timeout = 30s) const;

  // Polls `condition` every 50 ms; false after `timeout` (hang guard).
  static bool Eventually(const std::function<bool()>& condition,
                         std::chrono::milliseconds timeout = 30s);

  static inline TempDir* pki_dir_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline Pki::Issued* server_cert_ = nullptr;
  static inline Config* config_ = nullptr;  // examples/config.yaml, as the server loads it

  TempDir tmp_;
  ServerProcess server_;
  int health_checks_ = 0;
};

// A valid Pod CREATE review of examples/psmdb-rs0-pod.yaml (mutated by the example config).
json ValidReview(const std::string& uid);
// The role injected into the first container of the example pod by `response` ("" when none).
std::string InjectedRole(const json& response);

// `body` in chunked transfer coding, `chunk_size` bytes per chunk, with the final chunk.
std::string ChunkedBody(const std::string& body, std::size_t chunk_size);

}  // namespace irsa::test
