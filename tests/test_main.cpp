// The main of every test binary: the same process-wide settings as irsa-webhook's main
// (src/cli/process_setup.h), then GoogleTest. Libraries under test never make them themselves.
#include <gtest/gtest.h>

#include "process_setup.h"

int main(int argc, char** argv) {
  irsa::cli::PrepareProcess();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
