#!/usr/bin/env bash
# `irsa-webhook check` and the exec credential plugin against a real control plane: starts one
# (scripts/control-plane.sh; kube-apiserver, kube-controller-manager and etcd built once per
# version into ~/.cache/irsa-webhook), runs check.test.mjs with node's test runner, stops it.
#
# Usage: tests/cluster/check/run.sh [IRSA_WEBHOOK_BIN]   (default: build/dev)
# Exits non-zero on any failure, including a control plane that cannot be built or started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)

bin=${1:-${IRSA_WEBHOOK_BIN:-$root/build/dev/src/cli/irsa-webhook}}
[ -x "$bin" ] || { echo "tests/cluster/check/run.sh: no irsa-webhook binary at $bin (build it, or pass its path)" >&2; exit 1; }
export IRSA_WEBHOOK_BIN
IRSA_WEBHOOK_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tools=$("$root/scripts/fetch-k8s-tools.sh")
export KUBECTL=$tools/kubectl

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/irsa-check-cluster.XXXXXX")
trap '"$root/scripts/control-plane.sh" stop "$run_dir"' EXIT
env_lines=$("$root/scripts/control-plane.sh" start "$run_dir")
while IFS= read -r line; do export "${line?}"; done <<<"$env_lines"

cd "$here"
status=0
node --test --test-concurrency=1 check.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- last lines of the control plane's logs ($run_dir)" >&2
  for log in "$run_dir"/*.log; do echo "== $log" >&2; tail -n 15 "$log" >&2; done
fi
exit "$status"
