#!/usr/bin/env bash
# Load harness: `irsa-webhook serve` next to nginx on 127.0.0.1, same certificate, same request
# (the ~10 KB rs0 Percona AdmissionReview, bench/data/psmdb-rs0-review.json) and a response of
# the same size (nginx serves the bytes serve answers), wrk at 16 and 256 keep-alive connections,
# bounded in time. Prints one Markdown table: requests/s, p50, p99 and errors for each, the
# ratio to nginx, serve's CPU seconds per 1,000 admissions, and its RSS idle and at the end of
# each load.
#
# Usage: bench/load.sh                    (builds the release preset first)
#        DURATION=20 THREADS=2 LOG_LEVEL=info bench/load.sh
# Needs wrk, nginx, openssl, curl (scripts/install-deps.sh). Loopback only; every process it
# starts is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${DURATION:-15}
threads=${THREADS:-2}
log_level=${LOG_LEVEL:-info}
port=${BENCH_PORT:-18543}
metrics_port=${BENCH_METRICS_PORT:-19190}
nginx_port=${BENCH_NGINX_PORT:-18544}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

cmake --preset release >/dev/null
cmake --build --preset release --target irsa-webhook -j"$(nproc)" >/dev/null
bin=$root/build/release/src/cli/irsa-webhook
review=$root/bench/data/psmdb-rs0-review.json

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers (user nobody when started as root) read response.json here
server_pid=""
nginx_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  # TERM, not KILL: the nginx master stops its workers (KILL would orphan them).
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
clk_tck=$(getconf CLK_TCK)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$review", "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status, e.timeout))
end
LUA

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

# nginx answers a POST with the very bytes serve answers: a static file, every path rewritten to
# it, and the static module's 405 for POST turned into 200 with the file.
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
    location / {
      default_type application/json;
      root $work;
      rewrite ^ /response.json break;
      error_page 405 =200 \$uri;
    }
  }
}
NGINX
"$nginx_bin" -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
nginx_pid=$!
sleep 0.5
nginx_bytes=$(curl -fsS --cacert "$work/ca.crt" -X POST -H 'Content-Type: application/json' \
  --data-binary @"$review" "https://127.0.0.1:$nginx_port/" | wc -c)
[ "$nginx_bytes" -eq "$(wc -c <"$work/response.json")" ] || { echo "nginx response size differs" >&2; exit 1; }

run_wrk() {  # run_wrk URL CONNECTIONS -> "requests seconds p50 p99 errors timeouts"
  wrk -t"$threads" -c"$2" -d"${duration}s" --timeout 5s --latency -s "$work/post.lua" "$1" | awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}'
}

rows=()
for c in 16 256; do
  before=$(cpu_ticks "$server_pid")
  [ -n "${PERF_OUT:-}" ] && [ "$c" = "${PERF_CONNECTIONS:-16}" ] && { perf record -g -o "$PERF_OUT" -p "$server_pid" -- sleep $((duration - 2)) >/dev/null 2>&1 & }
  read -r s_req s_sec s_p50 s_p99 s_err s_to < <(run_wrk "https://127.0.0.1:$port/mutate" "$c")
  after=$(cpu_ticks "$server_pid")
  rss_end=$(rss_mb "$server_pid")
  sleep 1
  read -r n_req n_sec n_p50 n_p99 n_err n_to < <(run_wrk "https://127.0.0.1:$nginx_port/" "$c")
  rows+=("$(awk -v c="$c" -v sr="$s_req" -v ss="$s_sec" -v s50="$s_p50" -v s99="$s_p99" -v se="$s_err" -v st="$s_to" \
    -v nr="$n_req" -v ns="$n_sec" -v n50="$n_p50" -v n99="$n_p99" -v ne="$n_err" -v nt="$n_to" \
    -v cpu="$((after - before))" -v tck="$clk_tck" -v ri="$rss_idle" -v re="$rss_end" 'BEGIN {
      srps = sr / ss; nrps = nr / ns
      printf "| %d | %.0f | %.2f | %.2f | %d/%d | %.0f | %.2f | %.2f | %d/%d | %.0f%% | %.3f | %s | %s |", c,
        srps, s50, s99, se, st, nrps, n50, n99, ne, nt, 100 * srps / nrps, (cpu / tck) / (sr / 1000), ri, re }')")
  sleep 2
done

echo
echo "serve log level: $log_level; wrk: $threads threads, ${duration}s per run; request $(wc -c <"$review") B, response $(wc -c <"$work/response.json") B"
echo
echo "| connections | serve req/s | serve p50 ms | serve p99 ms | serve errors/timeouts | nginx req/s | nginx p50 ms | nginx p99 ms | nginx errors/timeouts | serve/nginx | serve CPU s per 1,000 | serve RSS idle MB | serve RSS end of load MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

kill -TERM "$nginx_pid"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" -eq 0 ] || { echo "serve exited with status $status" >&2; exit 1; }
