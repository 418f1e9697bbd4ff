#!/usr/bin/env bash
# Builds the reference implementation, aws/amazon-eks-pod-identity-webhook (what EKS runs), from
# the Go module proxy and prints the binary's path. bench/load.sh measures it beside
# irsa-webhook. Built once per version into a cache outside the clone (CI clones afresh on the
# same machine), like scripts/control-plane.sh.
#
# Usage: scripts/reference-webhook.sh build
set -euo pipefail

# The newest release of github.com/aws/amazon-eks-pod-identity-webhook.
version=v0.6.17
module=github.com/aws/amazon-eks-pod-identity-webhook

me=scripts/reference-webhook.sh
cache_root=${IRSA_CACHE_DIR:-$HOME/.cache/irsa-webhook}
bin_dir=$cache_root/reference-webhook/$version
binary=$bin_dir/amazon-eks-pod-identity-webhook

die() {
  echo "$me: $*" >&2
  exit 1
}

[ "${1:-}" = build ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi
command -v go >/dev/null || die "the Go toolchain is missing (go not on PATH); it is needed once to build $module $version"
mkdir -p "$cache_root/reference-webhook"
work=$(mktemp -d "$cache_root/reference-webhook/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$cache_root/reference-webhook/build-$version.log
# A throwaway module requiring the release: its own go.mod decides every dependency version. (`go
# install module@version` would also work, but it asks the proxy for the module's version list,
# which some proxies refuse.)
if ! (
  cd "$work"
  printf 'module irsa-webhook.local/reference-webhook\n\ngo 1.26\n\nrequire %s %s\n' "$module" "$version" >go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$module" >tools.go
  export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  go mod tidy
  go build -p "${REFERENCE_BUILD_JOBS:-2}" -trimpath -ldflags "-s -w" -o amazon-eks-pod-identity-webhook "$module"
) >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  die "building $module $version with $(go version | cut -d' ' -f3) failed; full log: $log"
fi
mkdir -p "$bin_dir"
install -m 0755 "$work/amazon-eks-pod-identity-webhook" "$binary"
echo "$binary"
