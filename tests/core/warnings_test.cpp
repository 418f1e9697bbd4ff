// The per-object warning cap: at most kMaxWarnings lines, the last one counting what was left out.
#include "irsa/warnings.h"

#include <gtest/gtest.h>

#include "irsa/constants.h"

namespace irsa {
namespace {

struct CapCase {
  std::size_t added;
  std::vector<std::string> shown;
  std::size_t omitted;
};

void PrintTo(const CapCase& c, std::ostream* os) { *os << c.added << " added"; }

class WarningsCapTest : public ::testing::TestWithParam<CapCase> {};

TEST_P(WarningsCapTest, ShowsAtMostFiveAndCountsTheRest) {
  Warnings w;
  for (std::size_t i = 1; i <= GetParam().added; ++i) w.Add("w" + std::to_string(i));
  EXPECT_EQ(w.lines(), GetParam().shown);
  EXPECT_EQ(w.omitted(), GetParam().omitted);
  EXPECT_LE(w.size(), kMaxWarnings);
  EXPECT_EQ(nlohmann::json(w), nlohmann::json(GetParam().shown));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WarningsCapTest,
    ::testing::Values(CapCase{0, {}, 0}, CapCase{1, {"w1"}, 0},
                      CapCase{5, {"w1", "w2", "w3", "w4", "w5"}, 0},
                      CapCase{6, {"w1", "w2", "w3", "w4", "... and 2 more warnings not shown"}, 2},
                      CapCase{7, {"w1", "w2", "w3", "w4", "... and 3 more warnings not shown"}, 3},
                      CapCase{
                          40, {"w1", "w2", "w3", "w4", "... and 36 more warnings not shown"}, 36}));

TEST(WarningsTest, OverflowLineSingular) {
  EXPECT_EQ(OmittedWarningsLine(1), "... and 1 more warning not shown");
}

}  // namespace
}  // namespace irsa
