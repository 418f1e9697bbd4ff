#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time: scripts/fuzz.sh [SECONDS per target, default 30].
# FUZZ_TARGETS="fuzz_config fuzz_label_selector" picks targets (e.g. two shells, one per core).
# Needs the fuzz build (cmake --preset fuzz && cmake --build --preset fuzz). Seeds come from the
# golden cases and examples; new corpus entries stay in build/fuzz/corpus/ between runs. Any
# crash, leak or property failure fails the script and leaves its input in build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=build/fuzz
corpus=$build/corpus
artifacts=$build/artifacts
mkdir -p "$artifacts"

# Seeds: golden inputs as JSON (pods, reviews), configs, selectors.
seed() {  # seed TARGET FILE...
  local dir=$corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] || continue
    local name; name=$(echo "$f" | tr '/' '_')
    build/release/src/cli/irsa-webhook mutate -f "$f" -o json >"$dir/$name.json" 2>/dev/null ||
      cp "$f" "$dir/$name"
  done
}
if [ ! -d "$corpus" ]; then
  if [ ! -x build/release/src/cli/irsa-webhook ]; then
    cmake --preset release >/dev/null && cmake --build --preset release --target irsa-webhook >/dev/null
  fi
  seed fuzz_pod_mutation tests/testdata/*/input.yaml
  mkdir -p "$corpus/fuzz_admission_review" "$corpus/fuzz_config" "$corpus/fuzz_label_selector"
  cp bench/data/*.json "$corpus/fuzz_admission_review/"
  for f in tests/testdata/*/input.yaml; do
    grep -q "kind: AdmissionReview" "$f" && cp "$f" "$corpus/fuzz_admission_review/$(echo "$f" | tr '/' '_')"
  done
  # Every golden pod as a Pod CREATE review too.
  for f in "$corpus"/fuzz_pod_mutation/*.json; do
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"psmdb","object":%s}}' \
      "$(cat "$f")" >"$corpus/fuzz_admission_review/review-$(basename "$f")"
  done
  cp tests/testdata/*/config.yaml tests/testdata/default-config.yaml examples/config.yaml "$corpus/fuzz_config/" 2>/dev/null || true
  for i in $(ls tests/testdata/*/config.yaml); do cp "$i" "$corpus/fuzz_config/$(echo "$i" | tr '/' '_')"; done
  printf '{"matchLabels": {"app": "db"}}' >"$corpus/fuzz_label_selector/labels"
  printf 'matchExpressions: [{key: tier, operator: In, values: [a, b]}, {key: x, operator: DoesNotExist}]' \
    >"$corpus/fuzz_label_selector/expressions"
fi

status=0
for target in ${FUZZ_TARGETS:-fuzz_admission_review fuzz_pod_mutation fuzz_config fuzz_label_selector}; do
  echo "== $target (${seconds}s)"
  dict=()
  case $target in fuzz_admission_review | fuzz_pod_mutation) dict=(-dict=fuzz/admission.dict) ;; esac
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 "${dict[@]}" \
      -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$corpus/$target" 2>"$build/$target.log"; then
    echo "FAILED: $target (see $build/$target.log and $artifacts/)"
    tail -30 "$build/$target.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$build/$target.log" | tail -3 || true
done
exit $status
