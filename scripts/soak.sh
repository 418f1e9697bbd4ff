#!/usr/bin/env bash
# Soak test of `irsa-webhook serve` (issue 8): mixed load for a while, with the config and the
# certificate swapped periodically the way the kubelet updates ConfigMap and Secret volumes.
#
#   scripts/soak.sh [MINUTES]          default 10 (the documented run, docs/hardening.md)
#   scripts/soak.sh --seconds 75       the bounded CI run (ctest label soak, release preset)
#
# Load (wrk, keep-alive, 127.0.0.1 only): 70% Pod CREATE reviews, 24% ServiceAccount reviews,
# 2% garbage JSON (400), 2% wrong Content-Type (415), 1% unknown path (404), 1% bodies over
# --max-request-bytes (413); plus a fresh-handshake client (curl, verifying the CA) twice a
# second. Every answer is classified by status and body; a valid review must get 200 with its
# uid and exactly the patch of one of the two configs (as `mutate` computes it).
#
# Reports requests per kind, failures (must be 0), the roles and certificates seen, and RSS
# every 5 s; fails unless RSS stays within 10% (max vs min) after the warm-up (the first 30%
# of the run, at least 20 s). Needs wrk, curl, openssl, jq.
#
# Environment: IRSA_WEBHOOK_BINARY (default build/release/src/cli/irsa-webhook), SOAK_THREADS
# (wrk threads, 2), SOAK_CONNECTIONS (32), SOAK_RELOAD_SECONDS (5), SOAK_PORT/SOAK_METRICS_PORT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=600
case "${1:-}" in
  --seconds) seconds=${2:?--seconds needs a value} ;;
  "") ;;
  *) seconds=$(($1 * 60)) ;;
esac
bin=${IRSA_WEBHOOK_BINARY:-$root/build/release/src/cli/irsa-webhook}
threads=${SOAK_THREADS:-2}
connections=${SOAK_CONNECTIONS:-32}
reload_every=${SOAK_RELOAD_SECONDS:-5}
port=${SOAK_PORT:-$((20000 + RANDOM % 20000))}
metrics_port=${SOAK_METRICS_PORT:-$((port + 1))}
max_request_bytes=262144
role_a="arn:aws:iam::111122223333:role/psmdb-backup"
role_b="arn:aws:iam::111122223333:role/psmdb-backup-v2"

for tool in wrk curl openssl jq; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is required (scripts/install-deps.sh)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "soak: no binary at $bin (cmake --build --preset release)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
reloader_pid=""
prober_pid=""
sampler_pid=""
cleanup() {
  for pid in $reloader_pid $prober_pid $sampler_pid; do kill "$pid" 2>/dev/null || true; done
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- certificates: one CA, two serving certificates -------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=soak CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/ext.cnf"
for n in 1 2; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=soak-server-$n" \
    -keyout "$work/tls$n.key" -out "$work/tls$n.csr" 2>/dev/null
  openssl x509 -req -in "$work/tls$n.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
    -extfile "$work/ext.cnf" -out "$work/tls$n.crt" 2>/dev/null
done

# --- kubelet-style volumes: dir/<file> -> ..data/<file>, ..data -> ..vN --------------------------
version=0
publish() {  # publish DIR NAME=FILE...
  local dir=$1; shift
  version=$((version + 1))
  mkdir -p "$dir/..v$version"
  for pair in "$@"; do
    cp "${pair#*=}" "$dir/..v$version/${pair%%=*}"
    [ -L "$dir/${pair%%=*}" ] || ln -s "..data/${pair%%=*}" "$dir/${pair%%=*}"
  done
  ln -sfn "..v$version" "$dir/..data.tmp" && mv -T "$dir/..data.tmp" "$dir/..data"
}
cp "$root/examples/config.yaml" "$work/config-a.yaml"
sed "s|$role_a|$role_b|" "$root/examples/config.yaml" >"$work/config-b.yaml"
publish "$work/configmap" config.yaml="$work/config-a.yaml"
publish "$work/secret" tls.crt="$work/tls1.crt" tls.key="$work/tls1.key"

# --- request bodies ---------------------------------------------------------------------------
"$bin" mutate -f "$root/examples/psmdb-rs0-pod.yaml" -o json 2>/dev/null >"$work/pod.json"
jq -c -n --slurpfile pod "$work/pod.json" '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
  request: {uid: "UIDUID", kind: {group: "", version: "v1", kind: "Pod"},
            resource: {group: "", version: "v1", resource: "pods"}, namespace: "psmdb",
            operation: "CREATE", object: $pod[0]}}' >"$work/pod-review.json"
jq -c -n '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
  request: {uid: "UIDUID", kind: {group: "", version: "v1", kind: "ServiceAccount"}, namespace: "psmdb",
            operation: "CREATE", object: {apiVersion: "v1", kind: "ServiceAccount",
            metadata: {name: "default", namespace: "psmdb"}}}}' >"$work/sa-review.json"

# The patch each config gives each review, as `serve` must answer it (same code path).
patch_of() {  # patch_of a|b pod|sa
  "$bin" mutate --config "$work/config-$1.yaml" -f "$work/$2-review.json" -o review 2>/dev/null | jq -r .response.patch
}
for c in a b; do for k in pod sa; do
  [ -n "$(patch_of $c $k)" ] && [ "$(patch_of $c $k)" != null ] || { echo "soak: no patch for $k with config $c" >&2; exit 1; }
done; done

cat >"$work/soak.lua" <<LUA
local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("*a"); f:close(); return s
end
local pod = slurp("$work/pod-review.json")
local sa = slurp("$work/sa-review.json")
local pod_a, pod_b = pod:match("^(.-)UIDUID(.*)$")
local sa_a, sa_b = sa:match("^(.-)UIDUID(.*)$")
local big = string.rep(" ", $max_request_bytes + 1)
local json = {["Content-Type"] = "application/json"}
local kinds = {"pod", "sa", "garbage", "ctype", "path", "big"}
local patches = {pod_a = "$(patch_of a pod)", pod_b = "$(patch_of b pod)", sa_a = "$(patch_of a sa)", sa_b = "$(patch_of b sa)"}

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  n = 0
  sent = {}; got = {}
  for _, k in ipairs(kinds) do sent[k] = 0; got[k] = 0 end
  bad = 0; role_a = 0; role_b = 0; first_bad = ""
end

request = function()
  n = n + 1
  local m = n % 100
  if m < 70 then
    sent.pod = sent.pod + 1
    return wrk.format("POST", "/mutate", json, pod_a .. "pod-" .. n .. pod_b)
  elseif m < 94 then
    sent.sa = sent.sa + 1
    return wrk.format("POST", "/mutate", json, sa_a .. "sa-" .. n .. sa_b)
  elseif m < 96 then
    sent.garbage = sent.garbage + 1
    return wrk.format("POST", "/mutate", json, '{"apiVersion": "admission.k8s.io/v1", "kind": ' .. n)
  elseif m < 98 then
    sent.ctype = sent.ctype + 1
    return wrk.format("POST", "/mutate", {["Content-Type"] = "text/plain"}, pod)
  elseif m < 99 then
    sent.path = sent.path + 1
    return wrk.format("GET", "/nope-" .. n)
  else
    sent.big = sent.big + 1
    return wrk.format("POST", "/mutate", json, big)
  end
end

local function fail(what)
  bad = bad + 1
  if first_bad == "" then first_bad = what end
end

response = function(status, headers, body)
  if status == 200 then
    local kind = body:match('"uid":"(%a+)%-%d+"')
    local patch = body:match('"patch":"([^"]*)"')
    if (kind ~= "pod" and kind ~= "sa") or not patch or not body:find('"allowed":true', 1, true) then
      return fail("200 " .. body:sub(1, 200))
    end
    -- The exact patch of the config current at that moment (computed with \`mutate\`).
    if patch == patches[kind .. "_a"] then role_a = role_a + 1
    elseif patch == patches[kind .. "_b"] then role_b = role_b + 1
    else return fail("unexpected patch for " .. kind .. ": " .. patch:sub(1, 120)) end
    got[kind] = got[kind] + 1
  elseif status == 400 and body:find("not a valid AdmissionReview", 1, true) then got.garbage = got.garbage + 1
  elseif status == 415 then got.ctype = got.ctype + 1
  elseif status == 404 then got.path = got.path + 1
  elseif status == 413 then got.big = got.big + 1
  else fail(status .. " " .. body:sub(1, 200)) end
end

function done(summary, latency, requests)
  local total = {sent = {}, got = {}, bad = 0, role_a = 0, role_b = 0, first_bad = ""}
  for _, k in ipairs(kinds) do total.sent[k] = 0; total.got[k] = 0 end
  for _, t in ipairs(threads) do
    local s, g = t:get("sent"), t:get("got")
    for _, k in ipairs(kinds) do total.sent[k] = total.sent[k] + s[k]; total.got[k] = total.got[k] + g[k] end
    total.bad = total.bad + t:get("bad")
    total.role_a = total.role_a + t:get("role_a")
    total.role_b = total.role_b + t:get("role_b")
    if total.first_bad == "" then total.first_bad = t:get("first_bad") end
  end
  local line = "SOAK"
  for _, k in ipairs(kinds) do line = line .. " " .. k .. "_sent=" .. total.sent[k] .. " " .. k .. "_ok=" .. total.got[k] end
  line = line .. " bad=" .. total.bad .. " role_a=" .. total.role_a .. " role_b=" .. total.role_b
  local e = summary.errors
  line = line .. " connect=" .. e.connect .. " read=" .. e.read .. " write=" .. e.write .. " timeout=" .. e.timeout
  line = line .. " requests=" .. summary.requests
  line = line .. string.format(" p50_ms=%.2f p99_ms=%.2f", latency:percentile(50) / 1000, latency:percentile(99) / 1000)
  print(line)
  if total.first_bad ~= "" then print("SOAK_FIRST_BAD " .. total.first_bad) end
end
LUA

# --- server -----------------------------------------------------------------------------------
"$bin" serve --config "$work/configmap/config.yaml" --tls-cert-file "$work/secret/tls.crt" \
  --tls-key-file "$work/secret/tls.key" --bind-address 127.0.0.1 --port "$port" --metrics-port "$metrics_port" \
  --max-request-bytes "$max_request_bytes" --log-level warn 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }

# --- background: RSS sampler, reloader, fresh-handshake prober --------------------------------
start=$(date +%s)
(
  while kill -0 "$server_pid" 2>/dev/null; do
    echo "$(($(date +%s) - start)) $(rss_kb) $(awk '/^Threads/ {print $2}' "/proc/$server_pid/status")"
    sleep 5
  done
) >"$work/rss.txt" &
sampler_pid=$!
(
  i=0
  while true; do
    sleep "$reload_every"
    i=$((i + 1))
    if [ $((i % 2)) -eq 1 ]; then
      publish "$work/configmap" config.yaml="$work/config-b.yaml"
      publish "$work/secret" tls.crt="$work/tls2.crt" tls.key="$work/tls2.key"
    else
      publish "$work/configmap" config.yaml="$work/config-a.yaml"
      publish "$work/secret" tls.crt="$work/tls1.crt" tls.key="$work/tls1.key"
    fi
    echo "$i"
  done
) >"$work/reloads.txt" &
reloader_pid=$!
sed 's/UIDUID/probe/' "$work/pod-review.json" >"$work/probe.json"
(
  while true; do
    if code=$(curl -sS --cacert "$work/ca.crt" -o "$work/probe.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        --resolve "localhost:$port:127.0.0.1" --data-binary @"$work/probe.json" "https://localhost:$port/mutate" 2>>"$work/probe.err") &&
        [ "$code" = 200 ] && grep -q '"patch"' "$work/probe.out"; then
      echo ok
    else
      echo "fail $code"
    fi
    openssl s_client -connect "127.0.0.1:$port" -CAfile "$work/ca.crt" </dev/null 2>/dev/null |
      openssl x509 -noout -subject 2>/dev/null | sed -n 's/.*CN *= *\(soak-server-[0-9]\).*/cert \1/p'
    sleep 0.5
  done
) >"$work/probe.txt" &
prober_pid=$!

echo "soak: ${seconds}s against $bin (pid $server_pid), wrk $threads threads x $connections connections," \
  "config and certificate swapped every ${reload_every}s"
wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 10s -s "$work/soak.lua" \
  "https://127.0.0.1:$port/mutate" >"$work/wrk.txt" 2>&1 || true
kill "$reloader_pid" "$prober_pid" 2>/dev/null || true
sleep 1
metrics=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics" || true)
kill "$sampler_pid" 2>/dev/null || true
alive=yes
kill -0 "$server_pid" 2>/dev/null || alive=no

# --- report -----------------------------------------------------------------------------------
status=0
soak_line=$(grep '^SOAK ' "$work/wrk.txt" || true)
if [ -z "$soak_line" ]; then
  echo "soak: wrk produced no summary:"; cat "$work/wrk.txt"; exit 1
fi
val() { echo "$soak_line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
echo "requests: $(val requests) in ${seconds}s, p50 $(val p50_ms) ms, p99 $(val p99_ms) ms"
printf '  %-8s %10s %10s\n' kind sent answered
for k in pod sa garbage ctype path big; do
  printf '  %-8s %10s %10s\n' "$k" "$(val "${k}_sent")" "$(val "${k}_ok")"
done
# Answers are matched to kinds by status and body; a request answered wrongly shows up as
# `bad`, or as more answers of a kind than requests of it. At most one request per connection
# is still in flight when wrk stops.
for k in pod sa garbage ctype path big; do
  s=$(val "${k}_sent"); g=$(val "${k}_ok")
  if [ "$g" -gt "$s" ] || [ $((s - g)) -gt "$connections" ]; then
    echo "FAIL: $k: $s sent, $g answered as expected"; status=1
  fi
done
echo "valid answers by role: A $(val role_a), B $(val role_b)"
echo "unexpected answers: $(val bad); socket errors: connect $(val connect), read $(val read), write $(val write), timeout $(val timeout)"
grep '^SOAK_FIRST_BAD' "$work/wrk.txt" || true
[ "$(val bad)" = 0 ] || status=1
for e in connect read write timeout; do [ "$(val $e)" = 0 ] || status=1; done
if [ "$(val role_a)" = 0 ] || [ "$(val role_b)" = 0 ]; then
  echo "FAIL: the answers did not follow the config swaps"; status=1
fi
probes_ok=$(grep -c '^ok' "$work/probe.txt" || true)
probes_failed=$(grep -c '^fail' "$work/probe.txt" || true)
certs=$(grep '^cert' "$work/probe.txt" | sort | uniq -c | awk '{printf "%s %s; ", $3, $1}')
echo "fresh-handshake probes: $probes_ok ok, $probes_failed failed; certificates seen: $certs"
[ "$probes_failed" = 0 ] || { echo "FAIL: fresh-handshake probes failed"; head -5 "$work/probe.err"; status=1; }
[ "$(grep -c '^cert' "$work/probe.txt" | tr -d ' ')" -gt 0 ] && [ "$(grep '^cert' "$work/probe.txt" | sort -u | wc -l)" -ge 2 ] ||
  { echo "FAIL: new handshakes did not get both certificates"; status=1; }
reloads=$(wc -l <"$work/reloads.txt" | tr -d ' ')
echo "reloads: $reloads swaps; server counted config $(echo "$metrics" | sed -n 's/^irsa_webhook_config_reloads_total{result="success"} //p') ok" \
  "$(echo "$metrics" | sed -n 's/^irsa_webhook_config_reloads_total{result="error"} //p') failed," \
  "certificate $(echo "$metrics" | sed -n 's/^irsa_webhook_tls_reloads_total{result="success"} //p') ok" \
  "$(echo "$metrics" | sed -n 's/^irsa_webhook_tls_reloads_total{result="error"} //p') failed"
echo "server log: $(grep -c '"level":"warning"' "$work/serve.log" || true) warning lines (invalid reviews), $(grep -c '"level":"error"' "$work/serve.log" || true) error lines"
if grep -q '"level":"error"' "$work/serve.log"; then grep '"level":"error"' "$work/serve.log" | head -3; status=1; fi
[ "$alive" = yes ] || { echo "FAIL: the server died"; tail -20 "$work/serve.log"; status=1; }

# RSS: stable within 10% after the warm-up.
warmup=$((seconds * 3 / 10)); [ "$warmup" -ge 20 ] || warmup=20
echo "RSS (MB) every 5 s, t=seconds:threads:"
awk '{printf " %d:%.1f:%d", $1, $2 / 1024, $3} END {print ""}' "$work/rss.txt" | fold -w 100
read -r min max count < <(awk -v w="$warmup" -v end="$seconds" '$1 >= w && $1 <= end {
    if (n == 0 || $2 < lo) lo = $2; if (n == 0 || $2 > hi) hi = $2; n++ }
  END {print lo + 0, hi + 0, n + 0}' "$work/rss.txt")
if [ "$count" -lt 3 ]; then
  echo "FAIL: only $count RSS samples after the warm-up"; status=1
else
  spread=$(awk -v lo="$min" -v hi="$max" 'BEGIN {printf "%.1f", (hi - lo) * 100 / lo}')
  echo "RSS after the ${warmup}s warm-up: min $(awk -v k="$min" 'BEGIN {printf "%.1f", k / 1024}') MB," \
    "max $(awk -v k="$max" 'BEGIN {printf "%.1f", k / 1024}') MB over $count samples: spread ${spread}% (limit 10%)"
  awk -v s="$spread" 'BEGIN {exit !(s <= 10)}' || { echo "FAIL: RSS not stable within 10%"; status=1; }
fi
[ "$status" = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$status"
