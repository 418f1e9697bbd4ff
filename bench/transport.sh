#!/usr/bin/env bash
# Transport spike: three HTTPS servers that do no JSON work, on 127.0.0.1 with the same
# certificate, answering the same request (the ~10 KB rs0 Percona AdmissionReview,
# bench/data/psmdb-rs0-review.json) with the same bytes (what `serve` answers to it):
#   nginx     a static file, configured as in bench/load.sh: the floor of HTTPS on this machine;
#   libevent  bench/transport_spike.cpp on libevent 2.1's evhttp + bufferevent_openssl, one
#             event_base, thread and SO_REUSEPORT listener per core;
#   asio      bench/transport_spike.cpp on the transport of `serve` (src/server/event_server.h)
#             with a constant answer: the same loops, TLS settings and limits, no review.
# wrk at 16 and 256 keep-alive connections, bounded in time; then each spike, restarted, holding
# 2,000 idle TLS keep-alive connections (bench/idle.py). Prints two Markdown tables.
#
# Usage: bench/transport.sh                (builds the release preset's targets first)
#        DURATION=20 THREADS=2 IDLE_CONNECTIONS=2000 bench/transport.sh
#        ORDER="asio libevent nginx" bench/transport.sh   (the order of the runs at each concurrency)
# Needs wrk, nginx, openssl, curl, python3 and libevent-dev (scripts/install-deps.sh).
# Loopback only; every process it starts is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
duration=${DURATION:-10}
threads=${THREADS:-2}
idle_connections=${IDLE_CONNECTIONS:-2000}
read -r -a order <<<"${ORDER:-nginx libevent asio}"
serve_port=${BENCH_SERVE_PORT:-18643}
serve_metrics_port=${BENCH_SERVE_METRICS_PORT:-19193}
nginx_port=${BENCH_NGINX_PORT:-18644}
libevent_port=${BENCH_LIBEVENT_PORT:-18646}
asio_port=${BENCH_ASIO_PORT:-18647}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

cmake --preset release >/dev/null
cmake --build --preset release --target irsa-webhook transport_spike -j"$(nproc)" >/dev/null
serve_bin=$root/build/release/src/cli/irsa-webhook
spike_bin=$root/build/release/bench/transport_spike
[ -x "$spike_bin" ] || { echo "transport_spike was not built (libevent-dev missing?)" >&2; exit 1; }
review=$root/bench/data/psmdb-rs0-review.json

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers (user nobody when started as root) read response.json here
pids=()
nginx_pid=""
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  # TERM, not KILL: the nginx master stops its workers (KILL would orphan them).
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Stops a process started here (TERM, then waits) and forgets it.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

make_certificates
write_wrk_script "$review"

# The response bytes: what `serve` answers to the review, taken once from the real server.
"$serve_bin" serve --config "$root/examples/config.yaml" --tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" \
  --bind-address 127.0.0.1 --port "$serve_port" --metrics-port "$serve_metrics_port" --log-level warn \
  2>"$work/serve.log" &
pids+=($!)
serve_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$serve_metrics_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$review" \
  "https://127.0.0.1:$serve_port/mutate" >"$work/response.json"
grep -q '"patchType":"JSONPatch"' "$work/response.json" || { echo "serve did not mutate the review" >&2; exit 1; }
stop "$serve_pid"

# nginx answers a POST with the file (bench/common.sh).
write_nginx_conf "$nginx_port"

start_spike() {  # start_spike MODE PORT: sets spike_pid
  "$spike_bin" "$1" --cert "$work/tls.crt" --key "$work/tls.key" --response "$work/response.json" \
    --port "$2" >/dev/null 2>>"$work/$1.log" &
  spike_pid=$!
  pids+=("$spike_pid")
}

# Waits for a server to answer the review with the response's size; fails otherwise.
check_answers() {  # check_answers NAME URL
  local bytes=""
  for _ in $(seq 1 50); do
    bytes=$(curl -fsS --cacert "$work/ca.crt" -H 'Content-Type: application/json' \
      --data-binary @"$review" "$2" 2>/dev/null | wc -c) && [ "$bytes" -eq "$(wc -c <"$work/response.json")" ] && return 0
    sleep 0.1
  done
  echo "$1 did not answer the review with the response bytes (got $bytes bytes)" >&2
  exit 1
}

"$nginx_bin" -c "$work/nginx.conf" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
nginx_pid=$!
start_spike libevent "$libevent_port"
libevent_pid=$spike_pid
start_spike asio "$asio_port"
asio_pid=$spike_pid
check_answers nginx "https://127.0.0.1:$nginx_port/"
check_answers libevent "https://127.0.0.1:$libevent_port/mutate"
check_answers asio "https://127.0.0.1:$asio_port/mutate"
sleep 2
nginx_rss_idle=$(rss_mb "$nginx_pid")
libevent_rss_idle=$(rss_mb "$libevent_pid")
asio_rss_idle=$(rss_mb "$asio_pid")
wait_for_quiet
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

rows=()
for c in 16 256; do
  for server in "${order[@]}"; do
    case $server in
      nginx) nginx_row=$(measure nginx "$nginx_pid" "https://127.0.0.1:$nginx_port/" "$c" "$nginx_rss_idle") ;;
      libevent) libevent_row=$(measure libevent "$libevent_pid" "https://127.0.0.1:$libevent_port/mutate" "$c" "$libevent_rss_idle") ;;
      asio) asio_row=$(measure asio "$asio_pid" "https://127.0.0.1:$asio_port/mutate" "$c" "$asio_rss_idle") ;;
      *) echo "ORDER: unknown server $server (nginx, libevent, asio)" >&2; exit 2 ;;
    esac
  done
  nginx_rps=$(cut -d' ' -f3 <<<"$nginx_row")
  for row in "$nginx_row" "$libevent_row" "$asio_row"; do
    rows+=("$(awk -v n="$nginx_rps" '{
      printf "| %s | %s | %s | %s | %s | %s | %.0f%% | %s | %s | %s |", $1, $2, $3, $4, $5, $6, 100 * $3 / n, $7, $8, $9 }' <<<"$row")")
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
stop "$libevent_pid"
stop "$asio_pid"

# Idle keep-alive connections, each spike freshly started (no heap left over from the load).
idle_rows=()
for mode in libevent asio; do
  port_var=${mode}_port
  start_spike "$mode" "${!port_var}"
  pid=$spike_pid
  check_answers "$mode" "https://127.0.0.1:${!port_var}/mutate"
  sleep 1
  idle_rows+=("| $mode | $(python3 "$root/bench/idle.py" "$pid" "${!port_var}" "$idle_connections") |")
  stop "$pid"
done

echo
echo "$(nproc) CPUs; runs in the order ${order[*]}; load average $load_before before the load runs, $load_after after; wrk: $threads threads, ${duration}s per run;" \
  "request $(wc -c <"$review") B, response $(wc -c <"$work/response.json") B; $(sed -n 's/^transport_spike: //p' "$work/libevent.log" | head -n 1);" \
  "$(sed -n 's/^transport_spike: //p' "$work/asio.log" | head -n 1)"
echo
echo "| connections | server | req/s | p50 ms | p99 ms | errors/timeouts | vs nginx | CPU s per 1,000 | RSS idle MB | RSS end of load MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| spike | $idle_connections idle TLS keep-alive connections (bench/idle.py) |"
echo "|---|---|"
printf '%s\n' "${idle_rows[@]}"

kill -TERM "$nginx_pid"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""
