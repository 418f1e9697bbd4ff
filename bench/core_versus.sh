#!/usr/bin/env bash
# Times this checkout's core against an earlier commit's in the same run. This machine's speed
# drifts by up to 20% within an hour (a virtual machine on a shared host), so a figure in
# microseconds compares only with one measured beside it: both builds run in alternating
# rounds and the result is also given as a ratio.
#
#   bench/core_versus.sh REV [FILTER] [ROUNDS]
#     REV     the commit to compare with, for example 0ef4c91 (the build issue 15 measured the
#             rs0 review on: 17.2 us)
#     FILTER  a Google Benchmark filter; default BM_Reviewer/rs0
#     ROUNDS  default 6; each round runs 5 repetitions of each build
#
# REV's core_bench is built once in a worktree under .cache/core-versus/<commit> and kept there
# (it reads its inputs from its own source tree); this checkout's is build/release's, built if
# needed. Prints, per benchmark and build, the minimum, 25th percentile and median of all
# repetitions, then this build's figures as a fraction of REV's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:?usage: bench/core_versus.sh REV [FILTER] [ROUNDS]}
filter=${2:-BM_Reviewer/rs0}
rounds=${3:-6}

commit=$(git -C "$root" rev-parse --verify "$rev^{commit}")
old_tree=$root/.cache/core-versus/$commit
old_bench=$old_tree/build/bench/core_bench
if [[ ! -x $old_bench ]]; then
  rm -rf "$old_tree"
  git -C "$root" worktree prune
  git -C "$root" worktree add --quiet --detach "$old_tree" "$commit"
  cmake -S "$old_tree" -B "$old_tree/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DIRSA_BUILD_BENCH=ON -DIRSA_BUILD_TESTS=OFF -DIRSA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$old_tree/build" --target core_bench >/dev/null
fi
if [[ ! -f $root/build/release/build.ninja ]]; then
  (cd "$root" && cmake --preset release >/dev/null)
fi
cmake --build "$root/build/release" --target core_bench >/dev/null
new_bench=$root/build/release/bench/core_bench

out=$(mktemp)
run=$(mktemp)
trap 'rm -f "$out" "$run" "$run.err"' EXIT
for _ in $(seq "$rounds"); do
  for build in old new; do
    bench=$old_bench
    [[ $build == new ]] && bench=$new_bench
    if ! "$bench" --benchmark_repetitions=5 --benchmark_filter="$filter" >"$run" 2>"$run.err"; then
      echo "core_versus.sh: $bench failed:" >&2
      cat "$run.err" >&2
      exit 1
    fi
    awk -v build="$build" '$1 ~ /^BM_/ && $1 !~ /_(mean|median|stddev|cv)$/ {print build, $1, $2}' "$run"
  done
done >"$out"
if [[ ! -s $out ]]; then
  echo "core_versus.sh: no benchmark matched '$filter' (ROUNDS=$rounds)" >&2
  exit 1
fi

python3 - "$out" "${rev}" <<'PY'
import collections, statistics, sys

times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    build, name, ns = line.split()
    times[(name, build)].append(float(ns))
stats = {}
for (name, build), values in sorted(times.items()):
    values.sort()
    stats[(name, build)] = (values[0], values[len(values) // 4], statistics.median(values))
print(f"{'benchmark':32} {'build':8} {'min':>10} {'p25':>10} {'median':>10} {'runs':>5}   (ns)")
for (name, build), (low, p25, median) in stats.items():
    label = sys.argv[2] if build == "old" else "this"
    print(f"{name:32} {label:8} {low:10.0f} {p25:10.0f} {median:10.0f} {len(times[(name, build)]):5}")
for name in sorted({name for name, _ in stats}):
    if (name, "old") in stats and (name, "new") in stats:
        ratio = [n / o for n, o in zip(stats[(name, "new")], stats[(name, "old")])]
        print(f"{name}: this / {sys.argv[2]} = {ratio[0]:.3f} (min), {ratio[1]:.3f} (p25), "
              f"{ratio[2]:.3f} (median)")
PY
