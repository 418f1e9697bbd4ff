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
#   4. the Dockerfile keeps its contract: a bookworm build stage with the release preset and target
#      irsa-webhook; a bookworm-slim runtime-libs stage that installs the libraries and collects
#      the binary's `ldd` closure; a final stage FROM distroless cc-debian12 (no shell, no
#      package manager: no RUN there), every base pinned by digest, USER 65532:65532, ENTRYPOINT
#      the binary, the TARGETPLATFORM/TARGETARCH build arguments buildx sets.
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
# contains WORD LIST...: exact membership, without a pipe (grep -q closing early makes the writer of
# a pipeline die of SIGPIPE, which pipefail turns into a false "absent").
contains() { local word=$1 e; shift; for e in "$@"; do [ "$e" = "$word" ] && return 0; done; return 1; }
pass() { echo "ok: $*"; }

# --- 4. Dockerfile contract --------------------------------------------------------------------
stage() { awk -v want="$1" '/^FROM /{n++} n==want' "$dockerfile"; }
arg_default() { sed -n "s/^ARG $1=//p" "$dockerfile" | head -1; }
[ "$(awk '/^FROM /{n++} END{print n}' "$dockerfile")" = 3 ] && pass "three stages" || fail "expected exactly three stages"
grep -Eq '^FROM \$\{BUILD_IMAGE\} AS build' "$dockerfile" && [[ $(arg_default BUILD_IMAGE) == debian:bookworm@sha256:* ]] &&
  pass "build stage FROM debian:bookworm, pinned by digest" || fail "build stage must be FROM \${BUILD_IMAGE} AS build, ARG BUILD_IMAGE=debian:bookworm@sha256:..."
grep -Eq 'cmake --preset release' "$dockerfile" && grep -Eq -- '--target irsa-webhook' "$dockerfile" &&
  pass "build uses the release preset, target irsa-webhook" || fail "build must use cmake --preset release and --target irsa-webhook"
for a in TARGETPLATFORM TARGETARCH; do
  grep -Eq "^ARG $a\s*$" <<<"$(stage 1)" && pass "build stage declares ARG $a" || fail "build stage must declare ARG $a (docker buildx sets it)"
done
runtime_stage=$(stage 2)
grep -Eq '^FROM \$\{LIBS_IMAGE\} AS runtime-libs' <<<"$runtime_stage" && [[ $(arg_default LIBS_IMAGE) == debian:bookworm-slim@sha256:* ]] &&
  pass "runtime-libs stage FROM debian:bookworm-slim, pinned by digest" || fail "the second stage must be FROM \${LIBS_IMAGE} AS runtime-libs, ARG LIBS_IMAGE=debian:bookworm-slim@sha256:..."
grep -Fq 'ldd /usr/local/bin/irsa-webhook' <<<"$runtime_stage" && pass "runtime-libs collects the binary's ldd closure" ||
  fail "the runtime-libs stage must collect the libraries with ldd"
final_stage=$(stage 3)
grep -Eq '^FROM \$\{RUNTIME_IMAGE\}\s*$' <<<"$final_stage" && [[ $(arg_default RUNTIME_IMAGE) == gcr.io/distroless/cc-debian12:nonroot@sha256:* ]] &&
  pass "final stage FROM distroless cc-debian12 (no shell, no package manager), pinned by digest" ||
  fail "the final stage must be FROM \${RUNTIME_IMAGE}, ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:..."
grep -Eq '^RUN ' <<<"$final_stage" && fail "the final stage has no shell: it must not RUN anything" || pass "final stage runs nothing"
grep -Fq 'COPY --from=runtime-libs /runtime/ /' <<<"$final_stage" && pass "final stage copies the collected libraries" ||
  fail "the final stage must COPY --from=runtime-libs /runtime/ /"
grep -Eq '^USER 65532:65532\s*$' <<<"$final_stage" && pass "USER 65532:65532" || fail "the final stage must run as USER 65532:65532"
grep -Fq 'ENTRYPOINT ["/usr/local/bin/irsa-webhook"]' <<<"$final_stage" && pass "ENTRYPOINT" ||
  fail 'ENTRYPOINT must be ["/usr/local/bin/irsa-webhook"]'
grep -Eq '^CMD \["serve"' <<<"$final_stage" && pass 'CMD ["serve", ...]' || fail 'CMD must start with "serve"'
# What the final stage keeps from its base: the C and C++ runtimes (distroless cc has them).
for lib in libc libm libstdc++ libgcc_s; do
  grep -Fq "/(libc|libm|libstdc\\+\\+|libgcc_s|" <<<"$runtime_stage" || { fail "runtime-libs must leave $lib to the distroless base"; break; }
done

# The runtime stage's apt-get install arguments (backslash continuations joined).
runtime_packages=$(echo "$runtime_stage" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
  grep -o 'apt-get install[^&]*' | tr ' ' '\n' | grep -Ev '^(apt-get|install|-.*|)$' | sort -u)
[ -n "$runtime_packages" ] || fail "no apt-get install line found in the runtime stage"
echo "runtime stage installs: $(echo $runtime_packages)"
for p in $runtime_packages; do
  case $p in *-dev) fail "runtime stage installs the development package $p" ;; esac
done

# The build stage installs every library -dev package scripts/install-deps.sh has (test and
# benchmark frameworks aside, and libevent-dev, which only bench/transport_spike links; the image
# builds without benchmarks): a library added to the build must not be missing from the image.
build_stage=$(awk '/^FROM /{n++} n==1' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
deps_script=$root/scripts/install-deps.sh
if [ -f "$deps_script" ]; then
  for p in $(sed -n '/^packages=(/,/^)/p' "$deps_script" | tr -s ' \t' '\n' | grep -E -- '-dev$' |
             grep -Ev '^(libgtest-dev|libgmock-dev|libbenchmark-dev|libevent-dev|libclang-rt-.*-dev)$'); do
    if grep -Eq "(^|[[:space:]])${p//./\\.}([[:space:]]|\$)" <<<"$build_stage"; then
      pass "build stage installs $p (as scripts/install-deps.sh does)"
    else
      fail "scripts/install-deps.sh installs $p but the Dockerfile build stage does not"
    fi
  done
fi

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
  node - "$avail" "$@" <<'JS'
const fs = require("fs");
const [path, mode, ...seedArgs] = process.argv.slice(2);
const recs = new Map();
const provides = new Map();
for (const para of fs.readFileSync(path, "latin1").split(/\n\n+/)) {
  const fields = {};
  for (const line of para.split("\n")) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields[m[1]] = m[2];
  }
  const name = fields.Package;
  if (!name || recs.has(name)) continue;
  recs.set(name, fields);
  for (const p of (fields.Provides || "").split(",").map((x) => x.trim()).filter(Boolean)) {
    const virtual = p.split(/\s/)[0];
    if (!provides.has(virtual)) provides.set(virtual, name);
  }
}
const seed = mode === "required"
  ? [...recs].filter(([, r]) => r.Priority === "required" || r.Essential === "yes").map(([n]) => n)
  : seedArgs;
const seen = new Set();
const unknown = [];
const stack = [...seed];
while (stack.length) {
  let p = stack.pop();
  if (!recs.has(p) && provides.has(p)) p = provides.get(p);
  if (seen.has(p)) continue;
  if (!recs.has(p)) { unknown.push(p); continue; }
  seen.add(p);
  for (const field of ["Pre-Depends", "Depends"]) {
    for (const alt of (recs.get(p)[field] || "").split(",").map((x) => x.trim()).filter(Boolean)) {
      stack.push(alt.split("|")[0].trim().split(/\s/)[0].split(":")[0]);
    }
  }
}
console.log([...unknown.map((u) => "unknown-package:" + u), ...[...seen].sort()].join("\n"));
JS
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
  if contains "$pkg" "${BASE[@]}"; then
    pass "$lib <- $pkg (in bookworm-slim)"
  elif grep -qx "$pkg" <<<"$provided"; then
    pass "$lib <- $pkg (runtime stage)"
  else
    fail "$lib <- $pkg: not installed by the runtime stage; add $pkg to its apt-get install line"
  fi
done < <(awk '/=>/ && $3 ~ /^\// {print $3} !/=>/ && $1 ~ /^\// {print $1}' <<<"$ldd_out" | sort -u)

for p in $runtime_packages; do
  if ! contains "$p" "${needed[@]}"; then
    echo "warning: runtime stage installs $p, which no library of $binary needs (yet)"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "check-runtime-libs: $failures failure(s)"
  exit 1
fi
echo "check-runtime-libs: every library of $(basename "$binary") is provided by the runtime image"
