#!/usr/bin/env bash
# Demo of `irsa-webhook reconcile` against the fake Kubernetes API server (tests/kube), with a
# Percona Operator for MongoDB namespace as it looks before irsa-webhook is installed:
# the operator Deployment (ReplicaSet + pod), the PerconaServerMongoDB (updateStrategy SmartUpdate)
# with its OnDelete rs0 StatefulSet (3 mongod pods) and arbiter StatefulSet; the operator's and
# the default ServiceAccount not annotated. The fake admits dry-run pods as irsa-webhook with
# examples/config.yaml would (--admission-config): reconcile proves that path before it restarts
# anything.
#
#   scripts/reconcile-demo.sh            # uses build/dev (cmake --preset dev && cmake --build --preset dev)
#   BUILD_DIR=build/release scripts/reconcile-demo.sh
#
# It runs `reconcile --dry-run --restart-workloads` (the plan, nothing changes), then
# `reconcile --restart-workloads`, and prints the patches the fake server received: both
# ServiceAccounts annotated, the operator Deployment (rolled by its controller) and the rs0
# StatefulSet (restarted by the operator's SmartUpdate) patched exactly once each, the arbiter
# left alone (the percona-server-mongodb preset does not select it).
# Everything stays on 127.0.0.1 and in a temporary directory removed at exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/dev}
case $build in /*) ;; *) build=$root/$build ;; esac
webhook=$build/src/cli/irsa-webhook
fake=$build/tests/kube/fake_kube_api
for bin in "$webhook" "$fake"; do
  if [ ! -x "$bin" ]; then
    echo "reconcile-demo: $bin not found; build first: cmake --preset dev && cmake --build --preset dev" >&2
    exit 1
  fi
done

work=$(mktemp -d)
fake_pid=
cleanup() {
  if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "demo-token-$RANDOM$RANDOM" >"$work/token"
"$fake" --token-file "$work/token" --tls-dir "$work/tls" --ready-file "$work/ready" \
  --fixture "$root/tests/kube/testdata/percona-cluster.yaml" \
  --admission-config "$root/examples/config.yaml" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 1 200); do [ -s "$work/ready" ] && break; sleep 0.05; done
[ -s "$work/ready" ] || { echo "reconcile-demo: the fake API server did not start:" >&2; cat "$work/fake.log" >&2; exit 1; }
port=$(cat "$work/ready")
server=https://127.0.0.1:$port

cat >"$work/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: demo
clusters:
- name: fake
  cluster:
    server: $server
    certificate-authority: $work/tls/tls.crt
users:
- name: demo
  user:
    tokenFile: $work/token
contexts:
- name: demo
  context: {cluster: fake, user: demo, namespace: psmdb}
YAML

fake_get() { curl -sS --cacert "$work/tls/tls.crt" "$server$1"; }
run() {
  printf '\n$ irsa-webhook %s\n' "$*"
  "$webhook" "$@"
}

echo "== Fake Kubernetes API at $server (namespace psmdb from tests/kube/testdata/percona-cluster.yaml)"
echo "== Config: examples/config.yaml"
sed -n '/^bindings:/,$p' "$root/examples/config.yaml"

run reconcile --config "$root/examples/config.yaml" --kubeconfig "$work/kubeconfig" --dry-run --restart-workloads
echo "(patches the API server received after the dry run: $(fake_get /fake/patch-summary | wc -l))"

run reconcile --config "$root/examples/config.yaml" --kubeconfig "$work/kubeconfig" --restart-workloads

printf '\n== Patches the API server received, in order\n'
fake_get /fake/patches
echo
printf '\n== Patches per object (count, resource, object, patch type): each exactly once\n'
fake_get /fake/patch-summary | sort | uniq -c
printf '\n== ServiceAccount annotations now\n'
for sa in percona-server-mongodb-operator default; do
  printf '%s: ' "$sa"
  fake_get "/fake/object?resource=serviceaccounts&namespace=psmdb&name=$sa" | grep -o '"eks.amazonaws.com/role-arn":"[^"]*"' || echo "(none)"
done

# The demo checks itself (ctest runs it): four patches, each object exactly once.
summary=$(fake_get /fake/patch-summary | sort | uniq -c)
if [ "$(printf '%s\n' "$summary" | wc -l)" -ne 4 ] || printf '%s\n' "$summary" | awk '$1 != 1 {bad=1} END {exit !bad}'; then
  echo "reconcile-demo: FAILED: expected 2 ServiceAccounts annotated and 2 workloads rolled, each once" >&2
  exit 1
fi
echo
echo "reconcile-demo: OK"
