#!/usr/bin/env bash
# Load harness: four servers on 127.0.0.1 with the same certificate and the same request (the
# ~10 KB rs0 Percona AdmissionReview, bench/data/psmdb-rs0-review.json), wrk at 16 and 256
# keep-alive connections, bounded in time:
#   serve      `irsa-webhook serve` (release preset) on examples/config.yaml, config only;
#   serve-kube the same with --kubeconfig: its ServiceAccount cache lists and watches the control
#              plane below (psmdb/default annotated with the role), as in a cluster;
#   reference  aws/amazon-eks-pod-identity-webhook (scripts/reference-webhook.sh), what EKS runs,
#              with the same region and regional-STS settings; it injects by ServiceAccount
#              annotation only, read through the API, so a real control plane runs beside it
#              (scripts/control-plane.sh) with psmdb/default annotated with the role;
#   nginx      a static file with the very bytes serve answers: the floor of HTTPS on this machine.
# Prints one Markdown table: requests/s, p50, p99, errors, the ratio to nginx, CPU seconds per
# 1,000 admissions and RSS idle and at the end of each load, per server.
#
# Usage: bench/load.sh                    (builds the release preset first)
#        DURATION=20 THREADS=2 LOG_LEVEL=info bench/load.sh
# Needs wrk, nginx, openssl, curl, node (scripts/install-deps.sh) and, once per version, go (the
# reference and the control plane are built from the Go module proxy into ~/.cache/irsa-webhook).
# Loopback only; every process it starts is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
duration=${DURATION:-15}
threads=${THREADS:-2}
log_level=${LOG_LEVEL:-info}
port=${BENCH_PORT:-18543}
metrics_port=${BENCH_METRICS_PORT:-19190}
nginx_port=${BENCH_NGINX_PORT:-18544}
ref_port=${BENCH_REFERENCE_PORT:-18545}
ref_metrics_port=${BENCH_REFERENCE_METRICS_PORT:-19191}
kube_port=${BENCH_KUBE_PORT:-18546}
kube_metrics_port=${BENCH_KUBE_METRICS_PORT:-19192}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

cmake --preset release >/dev/null
cmake --build --preset release --target irsa-webhook -j"$(nproc)" >/dev/null
bin=$root/build/release/src/cli/irsa-webhook
review=$root/bench/data/psmdb-rs0-review.json
ref_bin=$(scripts/reference-webhook.sh build)

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers (user nobody when started as root) read response.json here
server_pid=""
nginx_pid=""
ref_pid=""
kube_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  [ -n "$kube_pid" ] && kill -KILL "$kube_pid" 2>/dev/null || true
  [ -n "$ref_pid" ] && kill -KILL "$ref_pid" 2>/dev/null || true
  [ -d "$work/control-plane" ] && "$root/scripts/control-plane.sh" stop "$work/control-plane"
  # TERM, not KILL: the nginx master stops its workers (KILL would orphan them).
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

make_certificates
write_wrk_script "$review"

"$bin" serve --config "$root/examples/config.yaml" --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" \
  --bind-address 127.0.0.1 --port "$port" --metrics-port "$metrics_port" --log-level "$log_level" \
  2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$review" \
  "https://127.0.0.1:$port/mutate" >"$work/response.json"
grep -q '"patchType":"JSONPatch"' "$work/response.json" || { echo "serve did not mutate the review" >&2; exit 1; }
sleep 2
rss_idle=$(rss_mb "$server_pid")

# nginx answers a POST with the very bytes serve answers (bench/common.sh).
write_nginx_conf "$nginx_port"
"$nginx_bin" -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
nginx_pid=$!
sleep 0.5
nginx_bytes=$(curl -fsS --cacert "$work/ca.crt" -X POST -H 'Content-Type: application/json' \
  --data-binary @"$review" "https://127.0.0.1:$nginx_port/" | wc -c)
[ "$nginx_bytes" -eq "$(wc -c <"$work/response.json")" ] || { echo "nginx response size differs" >&2; exit 1; }

# The reference reads ServiceAccounts through the API: a control plane with psmdb/default
# annotated, as on EKS.
cp_env=$("$root/scripts/control-plane.sh" start "$work/control-plane")
cp_server=$(sed -n 's/^IRSA_CP_SERVER=//p' <<<"$cp_env")
cp_curl() {
  curl -fsS --cacert "$work/control-plane/ca.crt" --cert "$work/control-plane/admin.crt" \
    --key "$work/control-plane/admin.key" "$@"
}
cp_curl -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"psmdb"}}' "$cp_server/api/v1/namespaces" >/dev/null
for _ in $(seq 1 100); do cp_curl "$cp_server/api/v1/namespaces/psmdb/serviceaccounts/default" >/dev/null 2>&1 && break; sleep 0.1; done
cp_curl -X PATCH -H 'Content-Type: application/merge-patch+json' \
  -d '{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::111122223333:role/psmdb-backup"}}}' \
  "$cp_server/api/v1/namespaces/psmdb/serviceaccounts/default" >/dev/null
# The same settings as examples/config.yaml: region us-east-1, regional STS.
"$ref_bin" --in-cluster=false --kubeconfig "$work/control-plane/admin.kubeconfig" \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --port "$ref_port" --metrics-port "$ref_metrics_port" \
  --aws-default-region us-east-1 --sts-regional-endpoint=true 2>"$work/reference.log" &
ref_pid=$!
ref_ok=""
for _ in $(seq 1 100); do
  if curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$review" \
    "https://127.0.0.1:$ref_port/mutate" 2>/dev/null | grep -q '"patch"'; then
    ref_ok=1
    break
  fi
  sleep 0.1
done
[ -n "$ref_ok" ] || { tail -n 20 "$work/reference.log" >&2; echo "the reference webhook did not mutate the review" >&2; exit 1; }
# serve in Kubernetes mode, ready once its ServiceAccount cache has listed the control plane.
"$bin" serve --config "$root/examples/config.yaml" --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" \
  --kubeconfig "$work/control-plane/admin.kubeconfig" --bind-address 127.0.0.1 --port "$kube_port" \
  --metrics-port "$kube_metrics_port" --log-level "$log_level" 2>"$work/serve-kube.log" &
kube_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$kube_metrics_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$review" \
  "https://127.0.0.1:$kube_port/mutate" | grep -q '"patchType":"JSONPatch"' ||
  { tail -n 20 "$work/serve-kube.log" >&2; echo "serve in Kubernetes mode did not mutate the review" >&2; exit 1; }
sleep 2
ref_rss_idle=$(rss_mb "$ref_pid")
nginx_rss_idle=$(rss_mb "$nginx_pid")
kube_rss_idle=$(rss_mb "$kube_pid")

wait_for_quiet
rows=()
for c in 16 256; do
  serve_row=$(measure serve "$server_pid" "https://127.0.0.1:$port/mutate" "$c" "$rss_idle")
  kube_row=$(measure serve-kube "$kube_pid" "https://127.0.0.1:$kube_port/mutate" "$c" "$kube_rss_idle")
  ref_row=$(measure reference "$ref_pid" "https://127.0.0.1:$ref_port/mutate" "$c" "$ref_rss_idle")
  nginx_row=$(measure nginx "$nginx_pid" "https://127.0.0.1:$nginx_port/" "$c" "$nginx_rss_idle")
  nginx_rps=$(cut -d' ' -f3 <<<"$nginx_row")
  serve_rps=$(cut -d' ' -f3 <<<"$serve_row")
  for row in "$serve_row" "$kube_row" "$ref_row" "$nginx_row"; do
    rows+=("$(awk -v n="$nginx_rps" -v s="$serve_rps" '{
      printf "| %s | %s | %s | %s | %s | %s | %.0f%% | %s | %s | %s | %s |", $1, $2, $3, $4, $5, $6, 100 * $3 / n,
        ($2 == "serve" ? "1.00x" : sprintf("%.2fx", $3 / s)), $7, $8, $9 }' <<<"$row")")
  done
done

echo
echo "serve log level: $log_level; reference: amazon-eks-pod-identity-webhook $(basename "$(dirname "$ref_bin")") (default klog level); wrk: $threads threads, ${duration}s per run; request $(wc -c <"$review") B, serve's response $(wc -c <"$work/response.json") B"
echo
echo "| connections | server | req/s | p50 ms | p99 ms | errors/timeouts | vs nginx | vs serve | CPU s per 1,000 | RSS idle MB | RSS end of load MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

kill -TERM "$ref_pid"
wait "$ref_pid" 2>/dev/null || true
ref_pid=""
kill -TERM "$kube_pid"
kube_status=0
wait "$kube_pid" || kube_status=$?
kube_pid=""
[ "$kube_status" -eq 0 ] || { echo "serve in Kubernetes mode exited with status $kube_status" >&2; exit 1; }
kill -TERM "$nginx_pid"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" -eq 0 ] || { echo "serve exited with status $status" >&2; exit 1; }
