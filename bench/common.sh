# Shared by bench/load.sh and bench/transport.sh (sourced, not run): measuring a server process,
# the test certificate, the wrk request script, the nginx floor and one wrk run. The sourcing
# script sets `work` (its temporary directory), `threads` and `duration` (wrk's) first.

# A process and its children (nginx's workers): RSS in MB, CPU (user + system) in clock ticks.
tree() { echo "$1" $(pgrep -P "$1" || true); }
rss_mb() { for p in $(tree "$1"); do cat "/proc/$p/status"; done | awk '/^VmRSS/ {kb += $2} END {printf "%.1f", kb / 1024}'; }
cpu_ticks() { for p in $(tree "$1"); do cat "/proc/$p/stat"; done | awk '{t += $14 + $15} END {print t}'; }
clk_tck=$(getconf CLK_TCK)

# A P-256 CA and a server certificate for 127.0.0.1 and localhost, signed by it, in $work:
# ca.crt, tls.crt, tls.key.
make_certificates() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench CA" \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/ext.cnf"
  openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
    -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
}

# $work/post.lua: wrk POSTs the file $1 as JSON and prints one line
# "RESULT requests seconds p50_ms p99_ms errors timeouts".
write_wrk_script() {
  cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$1", "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status, e.timeout))
end
LUA
}

# $work/nginx.conf for port $1: a POST to any path is answered with $work/response.json (every
# path rewritten to it, and the static module's 405 for POST turned into 200 with the file).
# Two workers, as the servers measured against it have two loops on this machine's 2 cores.
write_nginx_conf() {
  cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  server {
    listen 127.0.0.1:$1 ssl;
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
}

run_wrk() {  # run_wrk URL CONNECTIONS -> "requests seconds p50 p99 errors timeouts"
  wrk -t"$threads" -c"$2" -d"${duration}s" --timeout 5s --latency -s "$work/post.lua" "$1" | awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}'
}

# measure NAME PID URL CONNECTIONS RSS_IDLE -> "connections name req/s p50 p99 errors/timeouts
# cpu_s_per_1000 rss_idle rss_end" (the caller adds the ratios). With PERF_OUT set, the server
# named serve is profiled at PERF_CONNECTIONS (default 16).
measure() {
  local before after req sec p50 p99 err to
  before=$(cpu_ticks "$2")
  [ -n "${PERF_OUT:-}" ] && [ "$1" = serve ] && [ "$4" = "${PERF_CONNECTIONS:-16}" ] && { perf record -g -o "$PERF_OUT" -p "$2" -- sleep $((duration - 2)) >/dev/null 2>&1 & }
  read -r req sec p50 p99 err to < <(run_wrk "$3" "$4")
  after=$(cpu_ticks "$2")
  awk -v name="$1" -v c="$4" -v r="$req" -v s="$sec" -v p50="$p50" -v p99="$p99" -v e="$err" -v t="$to" \
    -v cpu="$((after - before))" -v tck="$clk_tck" -v ri="$5" -v re="$(rss_mb "$2")" 'BEGIN {
      printf "%d %s %.0f %.2f %.2f %d/%d %.3f %s %s\n", c, name, r / s, p50, p99, e, t, (cpu / tck) / (r / 1000), ri, re }'
  sleep 2
}

# Waits (at most 60 s) until the machine is at least 90% idle over one second: a control plane
# or server that just started settles before anything is measured, so the first run is not
# charged for it.
wait_for_quiet() {
  local _ busy total last_busy last_total
  read -r last_busy last_total < <(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)
  for _ in $(seq 1 60); do
    sleep 1
    read -r busy total < <(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)
    if [ $(((busy - last_busy) * 10)) -le $((total - last_total)) ]; then return 0; fi
    last_busy=$busy
    last_total=$total
  done
  echo "wait_for_quiet: the machine stayed busy for 60 s; measuring anyway" >&2
}
