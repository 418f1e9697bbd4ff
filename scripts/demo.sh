#!/usr/bin/env bash
# The "run the main job" demo: builds irsa-webhook (release preset), makes a throwaway CA and a
# serving certificate for 127.0.0.1/localhost, starts `irsa-webhook serve` with
# examples/config.yaml on 127.0.0.1, sends the Percona replica-set pod
# (examples/psmdb-rs0-pod.yaml) through it as a kube-apiserver would (an AdmissionReview over
# TLS, checked against the CA), prints the response and the decoded JSON Patch, and stops the
# server with SIGTERM.
#
# Usage: scripts/demo.sh            (ports: DEMO_PORT=8443 DEMO_METRICS_PORT=9090)
#        SKIP_DEPS=1 scripts/demo.sh  (packages already installed)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8443}
metrics_port=${DEMO_METRICS_PORT:-9090}
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  step "installing build dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi

step "building irsa-webhook (cmake --preset release)"
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target irsa-webhook
bin="$root/build/release/src/cli/irsa-webhook"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step "making a development CA and a serving certificate for 127.0.0.1 and localhost in $work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=irsa-webhook demo CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=localhost" -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

step "starting: irsa-webhook serve --config examples/config.yaml --bind-address 127.0.0.1 --port $port"
"$bin" serve --config examples/config.yaml --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" \
  --bind-address 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --log-format text 2>"$work/serve.log" &
server_pid=$!

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "demo: the server exited during startup:" >&2
    cat "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null || { echo "demo: server not ready after 10 s" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "ready (GET http://127.0.0.1:$metrics_port/readyz -> 200)"

# The pod as JSON: `mutate` without a config has no bindings, so it prints the object unchanged.
"$bin" mutate -f examples/psmdb-rs0-pod.yaml -o json >"$work/pod.json"
jq -n --slurpfile pod "$work/pod.json" '{
  apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
  request: {
    uid: "5f2a9c1e-0000-4000-8000-00000000d3m0",
    kind: {group: "", version: "v1", kind: "Pod"},
    resource: {group: "", version: "v1", resource: "pods"},
    namespace: "psmdb", operation: "CREATE", dryRun: false,
    userInfo: {username: "system:serviceaccount:kube-system:statefulset-controller"},
    object: $pod[0]
  }}' >"$work/review.json"

step "POST https://127.0.0.1:$port/mutate (examples/psmdb-rs0-pod.yaml as an AdmissionReview, verified with the CA)"
curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$work/review.json" \
  "https://127.0.0.1:$port/mutate" >"$work/response.json"
jq . "$work/response.json"

step "the JSON Patch (response.patch, base64-decoded)"
jq -r '.response.patch // empty' "$work/response.json" | base64 -d | jq .

step "server log"
# Admission lines are batched and written within a second (docs/serve.md, Logs).
for _ in $(seq 1 30); do grep -q 5f2a9c1e-0000-4000-8000-00000000d3m0 "$work/serve.log" && break; sleep 0.1; done
cat "$work/serve.log"

step "stopping the server (SIGTERM)"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
tail -n 3 "$work/serve.log"
echo "irsa-webhook serve exited with status $status"
exit "$status"
