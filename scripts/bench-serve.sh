#!/usr/bin/env bash
# Load test of `irsa-webhook serve` next to nginx `return 200` with the same certificate, on
# 127.0.0.1 only, bounded in time: wrk with 256 keep-alive connections POSTing the Percona pod
# AdmissionReview. Prints wrk's summary (requests/s, latency percentiles, socket errors) for
# both, and the server's RSS idle, under load, and after the idle worker threads retired.
#
# Usage: scripts/bench-serve.sh [BINARY]   (default build/release/src/cli/irsa-webhook)
#        DURATION=15 CONNECTIONS=256 THREADS=2 LOG_LEVEL=info scripts/bench-serve.sh
# LOG_LEVEL defaults to info, as in production: one JSON log line per admission (to a file).
# Needs wrk, nginx, openssl, jq (scripts/install-deps.sh). Numbers depend on the machine; the
# two servers share it with wrk, so compare them with each other, not with other machines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/release/src/cli/irsa-webhook}
duration=${DURATION:-15}
connections=${CONNECTIONS:-256}
threads=${THREADS:-2}
port=${BENCH_PORT:-18443}
metrics_port=${BENCH_METRICS_PORT:-19090}
nginx_port=${BENCH_NGINX_PORT:-18444}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
server_pid=""
nginx_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill -KILL "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
threads_of() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

"$bin" mutate -f "$root/examples/psmdb-rs0-pod.yaml" -o json >"$work/pod.json"
jq -c -n --slurpfile pod "$work/pod.json" '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
  request: {uid: "bench", kind: {group: "", version: "v1", kind: "Pod"},
            resource: {group: "", version: "v1", resource: "pods"}, namespace: "psmdb",
            operation: "CREATE", object: $pod[0]}}' >"$work/review.json"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/review.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA

"$bin" serve --config "$root/examples/config.yaml" --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" \
  --bind-address 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --log-level "${LOG_LEVEL:-info}" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$work/review.json" \
  "https://127.0.0.1:$port/mutate" | jq -e '.response.patchType == "JSONPatch"' >/dev/null
sleep 1
echo "irsa-webhook idle: RSS $(rss_kb "$server_pid") kB, threads $(threads_of "$server_pid")"

cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000;
    client_max_body_size 8m;
    location / { return 200 "ok"; }
  }
}
NGINX
"$nginx_bin" -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
sleep 0.5

echo
echo "== irsa-webhook serve: POST /mutate, $connections connections, ${duration}s"
peak=0
( while kill -0 "$server_pid" 2>/dev/null; do rss_kb "$server_pid"; sleep 0.2; done ) >"$work/rss.txt" &
sampler=$!
wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s --latency -s "$work/post.lua" \
  "https://127.0.0.1:$port/mutate"
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$work/rss.txt" | tail -1)
echo "irsa-webhook under load: peak RSS ${peak} kB"

echo
echo "== nginx return 200 (same certificate, same body), $connections connections, ${duration}s"
wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s --latency -s "$work/post.lua" \
  "https://127.0.0.1:$nginx_port/"

echo
echo "waiting 40 s for idle worker threads to retire..."
sleep 40
echo "irsa-webhook after load, idle: RSS $(rss_kb "$server_pid") kB, threads $(threads_of "$server_pid")"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" | grep -E '^irsa_webhook_admission_requests_total|^irsa_webhook_admission_duration_seconds_(count|sum)|^irsa_webhook_http_responses_total'
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
kill -TERM "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""
echo "irsa-webhook serve exited with status $status"
