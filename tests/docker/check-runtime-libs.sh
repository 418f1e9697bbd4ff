#!/usr/bin/env bash
# Checks, without a Docker engine, that the Dockerfile's runtime stage provides every shared
# library a real build of irsa-webhook needs:
#   1. `ldd BINARY` lists the libraries; `dpkg -S` maps each to its Debian package;
#   2. each package must be in debian:bookworm-slim already (BASE below) or installed by the
#      runtime stage's `apt-get install` line, directly or as a dependency (apt's dependency
#      closure, as `apt-get install --no-install-recommends` resolves it);
#   3. BASE itself is verified: every entry must be in the dependency closure of Debian's
#      Priority: required packages, which is what debootstrap --variant=minbase (the way
#      debian:bookworm-slim is built) installs;
#   4. the Dockerfile keeps its contract: bookworm build stage with the release preset and target
#      irsa-webhook, bookworm-slim runtime, USER 65532:65532, ENTRYPOINT the binary.
# A runtime package that no library needs is reported as a warning (the binary being checked may
# predate the server code that needs it).
#
# Usage: tests/docker/check-runtime-libs.sh BINARY [DOCKERFILE]
# The binary must be built on Debian bookworm (this machine) from this tree; any preset links the
# same libraries as the release one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:?usage: $0 BINARY [DOCKERFILE]}
dockerfile=${2:-$root/Dockerfile}
[ -x "$binary" ] || { echo "FAIL: $binary is not an executable" >&2; exit 1; }

# Packages of debian:bookworm-slim this check may rely on: the C and C++ runtimes and zlib.
# Anything else a library needs must be installed explicitly.
BASE=(libc6 libstdc++6 libgcc-s1 gcc-12-base zlib1g)

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# --- 4. Dockerfile contract --------------------------------------------------------------------
grep -Eq '^FROM debian:bookworm AS build' "$dockerfile" && pass "build stage FROM debian:bookworm" ||
  fail "build stage must be FROM debian:bookworm AS build"
grep -Eq 'cmake --preset release' "$dockerfile" && grep -Eq -- '--target irsa-webhook' "$dockerfile" &&
  pass "build uses the release preset, target irsa-webhook" || fail "build must use cmake --preset release and --target irsa-webhook"
runtime_stage=$(awk '/^FROM /{n++} n==2' "$dockerfile")
echo "$runtime_stage" | grep -Eq '^FROM debian:bookworm-slim\s*$' && pass "runtime stage FROM debian:bookworm-slim" ||
  fail "the second (last) stage must be FROM debian:bookworm-slim"
[ "$(awk '/^FROM /{n++} END{print n}' "$dockerfile")" = 2 ] || fail "expected exactly two stages"
echo "$runtime_stage" | grep -Eq '^USER 65532:65532\s*$' && pass "USER 65532:65532" || fail "runtime stage must run as USER 65532:65532"
echo "$runtime_stage" | grep -Fq 'ENTRYPOINT ["/usr/local/bin/irsa-webhook"]' && pass "ENTRYPOINT" ||
  fail 'ENTRYPOINT must be ["/usr/local/bin/irsa-webhook"]'
echo "$runtime_stage" | grep -Eq '^CMD \["serve"' && pass 'CMD ["serve", ...]' || fail 'CMD must start with "serve"'

# The runtime stage's apt-get install arguments (backslash continuations joined).
runtime_packages=$(echo "$runtime_stage" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
  grep -o 'apt-get install[^&]*' | tr ' ' '\n' | grep -Ev '^(apt-get|install|-.*|)$' | sort -u)
[ -n "$runtime_packages" ] || fail "no apt-get install line found in the runtime stage"
echo "runtime stage installs: $(echo $runtime_packages)"
for p in $runtime_packages; do
  case $p in *-dev) fail "runtime stage installs the development package $p" ;; esac
done

# --- apt metadata: dependency closures ---------------------------------------------------------
avail=$(mktemp)
trap 'rm -f "$avail"' EXIT
apt-cache dumpavail >"$avail" 2>/dev/null || true
if [ ! -s "$avail" ]; then
  echo "FAIL: apt-cache dumpavail printed nothing: run apt-get update (scripts/install-deps.sh does)"
  exit 1
fi
# closure MODE PACKAGES...: MODE=seed closes over the given packages; MODE=required over every
# Priority: required / Essential package. Follows Pre-Depends and Depends (first alternative, or
# the provider of a virtual package), never Recommends.
closure() {
  python3 - "$avail" "$@" <<'PY'
import re, sys
path, mode, seed = sys.argv[1], sys.argv[2], sys.argv[3:]
recs, provides, cur = {}, {}, {}
def flush():
    name = cur.get("Package")
    if name and name not in recs:
        recs[name] = dict(cur)
        for p in filter(None, re.split(r"\s*,\s*", cur.get("Provides", ""))):
            provides.setdefault(p.split()[0], name)
with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
        line = line.rstrip("\n")
        if not line:
            flush(); cur = {}; continue
        if line[0] in " \t":
            continue
        k, _, v = line.partition(":")
        cur[k] = v.strip()
flush()
if mode == "required":
    seed = [p for p, r in recs.items() if r.get("Priority") == "required" or r.get("Essential") == "yes"]
seen, stack = set(), list(seed)
while stack:
    p = stack.pop()
    p = p if p in recs else provides.get(p, p)
    if p in seen:
        continue
    if p not in recs:
        print("unknown-package:" + p); continue
    seen.add(p)
    for field in ("Pre-Depends", "Depends"):
        for alt in filter(None, re.split(r"\s*,\s*", recs[p].get(field, ""))):
            stack.append(alt.split("|")[0].strip().split()[0].split(":")[0])
print("\n".join(sorted(seen)))
PY
}

# --- 3. BASE is really in bookworm-slim --------------------------------------------------------
required_closure=$(closure required)
for p in "${BASE[@]}"; do
  grep -qx "$p" <<<"$required_closure" && pass "base package $p is in the minbase (Priority: required) closure" ||
    fail "base package $p is not installed by debootstrap --variant=minbase: it must not be assumed"
done

# shellcheck disable=SC2086
provided=$(closure seed $runtime_packages)
if grep -q '^unknown-package:' <<<"$provided"; then
  fail "runtime stage installs packages unknown to bookworm: $(grep '^unknown-package:' <<<"$provided" | cut -d: -f2 | tr '\n' ' ')"
fi

# --- 1 & 2. every library of the binary --------------------------------------------------------
owner_of() {
  local lib=$1 candidate out
  for candidate in "$lib" "${lib/#\/usr\/lib\//\/lib\/}" "${lib/#\/lib\//\/usr\/lib\/}" "$(readlink -f "$lib")" \
                   "$(readlink -f "$lib" | sed 's#^/usr/lib/#/lib/#')"; do
    if out=$(dpkg -S "$candidate" 2>/dev/null); then
      echo "${out%%:*}" | sed 's/:.*//' | tr -d ' ' | cut -d, -f1
      return 0
    fi
  done
  return 1
}
needed=()
ldd_out=$(ldd "$binary") || { fail "ldd $binary failed"; exit 1; }
if grep -q "not found" <<<"$ldd_out"; then fail "unresolved libraries: $(grep 'not found' <<<"$ldd_out" | tr -s ' ')"; fi
while read -r lib; do
  if ! pkg=$(owner_of "$lib"); then
    fail "$lib belongs to no Debian package (built from a local install? the image cannot have it)"
    continue
  fi
  pkg=${pkg%%:*}
  needed+=("$pkg")
  if printf '%s\n' "${BASE[@]}" | grep -qx "$pkg"; then
    pass "$lib <- $pkg (in bookworm-slim)"
  elif grep -qx "$pkg" <<<"$provided"; then
    pass "$lib <- $pkg (runtime stage)"
  else
    fail "$lib <- $pkg: not installed by the runtime stage; add $pkg to its apt-get install line"
  fi
done < <(awk '/=>/ && $3 ~ /^\// {print $3} !/=>/ && $1 ~ /^\// {print $1}' <<<"$ldd_out" | sort -u)

for p in $runtime_packages; do
  if ! printf '%s\n' "${needed[@]}" | grep -qx "$p"; then
    echo "warning: runtime stage installs $p, which no library of $binary needs (yet)"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "check-runtime-libs: $failures failure(s)"
  exit 1
fi
echo "check-runtime-libs: every library of $(basename "$binary") is provided by the runtime image"
