#!/usr/bin/env bash
# The cluster suite: starts one real control plane (scripts/control-plane.sh: kube-apiserver,
# kube-controller-manager and etcd, built once per version into ~/.cache/irsa-webhook), runs
# cluster.test.mjs against it with node's test runner, and stops it again whatever happened.
#
# Usage: tests/cluster/run.sh [IRSA_WEBHOOK_BIN]
#   the irsa-webhook binary comes from the argument, else $IRSA_WEBHOOK_BIN, else build/dev.
# Exits non-zero on any failure, including a control plane that cannot be built or started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

bin=${1:-${IRSA_WEBHOOK_BIN:-}}
if [ -z "$bin" ] && [ -x "$root/build/dev/src/cli/irsa-webhook" ]; then
  bin=$root/build/dev/src/cli/irsa-webhook
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "tests/cluster/run.sh: needs the irsa-webhook binary: pass its path (or set IRSA_WEBHOOK_BIN)," >&2
  echo "or build it: cmake --preset dev && cmake --build --preset dev" >&2
  exit 1
fi
export IRSA_WEBHOOK_BIN
IRSA_WEBHOOK_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tools=$("$root/scripts/fetch-k8s-tools.sh")
export KUBECTL=$tools/kubectl HELM=$tools/helm
"$root/tests/chart/npm-ci.sh"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/irsa-cluster-test.XXXXXX")
trap '"$root/scripts/control-plane.sh" stop "$run_dir"' EXIT
started=$(date +%s)
env_lines=$("$root/scripts/control-plane.sh" start "$run_dir")
while IFS= read -r line; do export "${line?}"; done <<<"$env_lines"
echo "control plane up in $(($(date +%s) - started))s at $IRSA_CP_SERVER (logs: $run_dir)"

cd "$here"
status=0
node --test --test-concurrency=1 cluster.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- last lines of the control plane's logs ($run_dir)" >&2
  for log in "$run_dir"/*.log; do echo "== $log" >&2; tail -n 15 "$log" >&2; done
fi
exit "$status"
