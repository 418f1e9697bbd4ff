// Memory of the ServiceAccount cache: fill it with 100,000 ServiceAccounts through the real
// list path (fake API server, paginated) and report the resident memory per cached SA. Prints
// the figure; the only assertion is a gross sanity bound (not a performance threshold).
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "fake_kube_api_process.h"
#include "kube/service_account_cache.h"

namespace irsa::kube {
namespace {

using testing::FakeKubeApiProcess;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Under a sanitizer the figure means nothing (shadow memory, redzones): a smaller fill still
// exercises the path for memory errors without spending minutes.
constexpr int kServiceAccounts = kSanitized ? 20000 : 100000;
constexpr int kNamespaces = kServiceAccounts / 100;  // 100 SAs per namespace
constexpr int kAnnotateEvery = 10;  // 10% carry a role-arn (and every SA an unrelated annotation)

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST(ServiceAccountCacheMemoryTest, ReportsResidentBytesPerCachedServiceAccount) {
  FakeKubeApiProcess api;
  ASSERT_TRUE(api.Start());
  api.Control("POST", "/fake/generate",
              {{"count", kServiceAccounts},
               {"namespaces", kNamespaces},
               {"annotateEvery", kAnnotateEvery}});
  auto cache = ServiceAccountCache::Create(api.Config(), "eks.amazonaws.com", nullptr);
  ASSERT_TRUE(cache.ok()) << cache.error();

  malloc_trim(0);
  const long before = ResidentBytes();
  (*cache)->Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);  // hang guard
  while (!(*cache)->synced() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE((*cache)->synced());
  const auto stats = (*cache)->stats();
  ASSERT_EQ(stats.service_accounts, static_cast<std::size_t>(kServiceAccounts));
  EXPECT_EQ(stats.annotated, static_cast<std::size_t>(kServiceAccounts / kAnnotateEvery));
  EXPECT_EQ(stats.namespaces, static_cast<std::size_t>(kNamespaces));

  const long after_sync = ResidentBytes();
  // The list pages (JSON) are freed by now; give their pages back to see what the store keeps.
  malloc_trim(0);
  const long after_trim = ResidentBytes();
  const double per_sa = static_cast<double>(after_trim - before) / kServiceAccounts;
  const double per_sa_untrimmed = static_cast<double>(after_sync - before) / kServiceAccounts;
  std::printf(
      "ServiceAccount cache: %d SAs (%zu annotated, %zu namespaces): %.0f bytes RSS per cached SA "
      "(%.0f before malloc_trim)%s\n",
      kServiceAccounts, stats.annotated, stats.namespaces, per_sa, per_sa_untrimmed,
      kSanitized ? " [sanitizer build: inflated]" : "");
  RecordProperty("bytes_per_service_account", static_cast<int>(per_sa));
  if (!kSanitized) {
    // Gross sanity only: a store that kept whole objects would take several KiB per SA.
    EXPECT_LT(per_sa, 2000.0);
  }
  // Still answers from memory.
  EXPECT_TRUE((*cache)->FindCached("team-0000", "workload-sa-000000").has_value());
  EXPECT_FALSE(
      (*cache)->FindCached("team-0000", "workload-sa-000001").has_value());  // in team-0001
  (*cache)->Stop();
}

}  // namespace
}  // namespace irsa::kube
