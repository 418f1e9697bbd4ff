#!/usr/bin/env bash
# A real Kubernetes control plane for tests, the way controller-runtime's envtest runs one:
# kube-apiserver, kube-controller-manager and etcd of one pinned release, built from the Go module
# proxy and run as local processes on 127.0.0.1. No kubelet and no scheduler: pods stay Pending,
# which is enough for admission (the API server calls webhooks when it creates them).
#
#   scripts/control-plane.sh build            build the binaries once (or reuse them); print their dir
#   scripts/control-plane.sh start [RUN_DIR]  build if needed, start all three, wait until the
#                                             controllers work; print the env lines (as `env`)
#   scripts/control-plane.sh env [RUN_DIR]    print KUBECONFIG=..., IRSA_CP_* lines for `eval`/`source`
#   scripts/control-plane.sh restart-apiserver [RUN_DIR]
#                                             kill kube-apiserver and start it again on the same port
#   scripts/control-plane.sh stop [RUN_DIR]   kill every process started there and delete RUN_DIR
#
# RUN_DIR (default $IRSA_CP_RUN_DIR, else .cache/control-plane-run in this clone) holds etcd's
# data, the certificates, kubeconfigs and logs; `start` wipes it first. Several control planes
# can run at once in different RUN_DIRs: every port is picked free at start.
#
# What the server enforces, as on a real cluster:
#   authentication  client certificates (admin: O=system:masters) and a static token file
#   authorization   Node,RBAC
#   admission       the default plugins of the release (MutatingAdmissionWebhook included)
#   ServiceAccount tokens signed by sa.key, issuer https://kubernetes.default.svc
# Files written to RUN_DIR: admin.kubeconfig, token.kubeconfig (the same admin by bearer token),
# ca.crt, tokens.csv, sa.key/sa.pub, *.log.
#
# Needs: go (to build, once per version), openssl, curl, node (to pick free ports).
set -euo pipefail

# Kubernetes release of kube-apiserver and kube-controller-manager: the newest patch release that
# builds with Go 1.26.
k8s_version=v1.37.2
# Its staging modules (k8s.io/api, k8s.io/apiserver, ...) are published as v0.<minor>.<patch>.
staging_version=v0.37.2
# The etcd that this Kubernetes release pins in its go.mod and hack/lib/etcd.sh.
etcd_version=v3.7.0

root=$(cd "$(dirname "$0")/.." && pwd)
me=scripts/control-plane.sh
# Outside the clone on purpose: CI clones the repository afresh on the same machine for every run,
# and a build under the clone would be repeated each time (about 34 min on 2 shared cores).
cache_root=${IRSA_CACHE_DIR:-$HOME/.cache/irsa-webhook}
bin_dir=$cache_root/control-plane/$k8s_version-etcd-$etcd_version

die() {
  echo "$me: $*" >&2
  exit 1
}

binaries_ok() {
  [ -x "$bin_dir/kube-apiserver" ] && [ -x "$bin_dir/kube-controller-manager" ] && [ -x "$bin_dir/etcd" ] &&
    "$bin_dir/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $k8s_version"
}

cmd_build() {
  if binaries_ok; then
    echo "$bin_dir"
    return
  fi
  command -v go >/dev/null ||
    die "the Go toolchain is missing (go not on PATH); it is needed once to build kube-apiserver $k8s_version and etcd $etcd_version into $bin_dir"
  local work log started
  mkdir -p "$cache_root/control-plane"
  work=$(mktemp -d "$cache_root/control-plane/build.XXXXXX")
  log=$cache_root/control-plane/build-$k8s_version.log
  started=$(date +%s)
  echo "$me: building kube-apiserver, kube-controller-manager $k8s_version and etcd $etcd_version (first time only; log: $log)" >&2
  if ! build_in "$work" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -rf "$work"
    die "building the control plane ($k8s_version, etcd $etcd_version) with $(go version | cut -d' ' -f3) failed; full log: $log"
  fi
  mkdir -p "$bin_dir"
  install -m 0755 "$work/bin/kube-apiserver" "$work/bin/kube-controller-manager" "$bin_dir/"
  # `go build` names the binary of go.etcd.io/etcd/server/v3 after its path: server.
  install -m 0755 "$work/bin/server" "$bin_dir/etcd"
  rm -rf "$work"
  echo "$me: built in $(($(date +%s) - started))s" >&2
  binaries_ok || die "the built kube-apiserver in $bin_dir does not report $k8s_version"
  echo "$bin_dir"
}

# A throwaway module that depends on k8s.io/kubernetes. Its own go.mod points the staging modules
# into its source tree (replace => ./staging/...), which Go ignores in a dependency, so they are
# pinned here to their published versions instead.
build_in() (
  local work=$1 k8s_dir staging version_pkg ldflags m
  cd "$work"
  export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  local download
  download=$(go mod download -json "k8s.io/kubernetes@$k8s_version") || { echo "$download"; return 1; }
  k8s_dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$download")
  [ -f "$k8s_dir/go.mod" ] || { echo "k8s.io/kubernetes@$k8s_version was not downloaded: $download"; return 1; }
  staging=$(sed -n 's|^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*|\1|p' "$k8s_dir/go.mod")
  {
    printf 'module irsa-webhook.local/control-plane\n\ngo 1.26\n\nrequire (\n'
    printf '\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\nreplace (\n' "$k8s_version" "$etcd_version"
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
    printf ')\n'
  } >go.mod
  cat >tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
EOF
  go mod tidy
  # The version a real release build stamps (hack/lib/version.sh); clients such as helm read it.
  ldflags="-s -w"
  for version_pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $version_pkg.gitVersion=$k8s_version -X $version_pkg.gitMajor=$(echo "$k8s_version" | cut -d. -f1 | tr -d v)"
    ldflags+=" -X $version_pkg.gitMinor=$(echo "$k8s_version" | cut -d. -f2) -X $version_pkg.gitTreeState=clean"
  done
  # Two packages at a time: the machine is shared and has few cores.
  go build -p "${CONTROL_PLANE_BUILD_JOBS:-2}" -trimpath -ldflags "$ldflags" -o bin/ \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager go.etcd.io/etcd/server/v3
)

run_dir_of() {
  local dir=${1:-${IRSA_CP_RUN_DIR:-$root/.cache/control-plane-run}}
  mkdir -p "$dir"
  cd "$dir" && pwd
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until `curl` of URL (with the admin certificate) answers 200, or the process PID dies.
wait_ready() {
  local dir=$1 url=$2 pid=$3 what=$4 i
  for i in $(seq 1 600); do
    if curl -fsS --max-time 2 --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" "$url" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/$what.log" >&2; die "$what exited during startup; log: $dir/$what.log"; }
    sleep 0.1
  done
  tail -n 20 "$dir/$what.log" >&2
  die "$what did not become ready within 60 s; log: $dir/$what.log"
}

# Issues a client or serving certificate signed by the run's CA.
issue_cert() {
  local dir=$1 name=$2 subject=$3 ext=$4
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 30 \
    -extfile <(printf '%s\n' "$ext") -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr"
}

write_kubeconfig() {
  local file=$1 server=$2 ca=$3 user=$4 auth=$5
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: irsa-test
    cluster:
      server: $server
      certificate-authority: $ca
users:
  - name: $user
    user:
$auth
contexts:
  - name: irsa-test
    context: {cluster: irsa-test, user: $user}
current-context: irsa-test
EOF
}

start_apiserver() {
  local dir=$1 port
  port=$(cat "$dir/apiserver.port")
  "$(cat "$dir/bin_dir")/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
    --etcd-servers="http://127.0.0.1:$(cat "$dir/etcd.port")" \
    --tls-cert-file="$dir/apiserver.crt" --tls-private-key-file="$dir/apiserver.key" \
    --client-ca-file="$dir/ca.crt" --token-auth-file="$dir/tokens.csv" \
    --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$dir/sa.pub" --service-account-signing-key-file="$dir/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 --allow-privileged=true \
    --endpoint-reconciler-type=none \
    >>"$dir/kube-apiserver.log" 2>&1 &
  echo $! >"$dir/kube-apiserver.pid"
  wait_ready "$dir" "https://127.0.0.1:$port/readyz" "$!" kube-apiserver
}

cmd_start() {
  local dir bins etcd_port peer_port api_port pid i
  bins=$(cmd_build)
  dir=$(run_dir_of "${1:-}")
  [ -f "$dir/etcd.pid" ] && cmd_stop_processes "$dir"
  find "$dir" -mindepth 1 -delete
  echo "$bins" >"$dir/bin_dir"
  for tool in openssl curl node; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
  done

  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 30 \
    -subj "/CN=irsa-test-ca" 2>/dev/null
  issue_cert "$dir" apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  issue_cert "$dir" admin "/O=system:masters/CN=irsa-test-admin" "extendedKeyUsage=clientAuth"
  issue_cert "$dir" controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  # token,user,uid,"group1,group2"
  echo "$(openssl rand -hex 24),irsa-test-token-admin,irsa-test-token-admin,\"system:masters\"" >"$dir/tokens.csv"

  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  echo "$etcd_port" >"$dir/etcd.port"
  echo "$api_port" >"$dir/apiserver.port"
  local server=https://127.0.0.1:$api_port
  write_kubeconfig "$dir/admin.kubeconfig" "$server" "$dir/ca.crt" irsa-test-admin \
    "      client-certificate: $dir/admin.crt
      client-key: $dir/admin.key"
  write_kubeconfig "$dir/token.kubeconfig" "$server" "$dir/ca.crt" irsa-test-token-admin \
    "      token: $(cut -d, -f1 "$dir/tokens.csv")"
  write_kubeconfig "$dir/controller-manager.kubeconfig" "$server" "$dir/ca.crt" kube-controller-manager \
    "      client-certificate: $dir/controller-manager.crt
      client-key: $dir/controller-manager.key"

  # fsync off: the data is thrown away with the run directory.
  "$bins/etcd" --name=irsa-test --data-dir="$dir/etcd" --unsafe-no-fsync \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="irsa-test=http://127.0.0.1:$peer_port" --listen-metrics-urls= \
    >"$dir/etcd.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/etcd.pid"
  for i in $(seq 1 300); do
    curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/etcd.log" >&2; die "etcd exited during startup; log: $dir/etcd.log"; }
    [ "$i" = 300 ] && die "etcd did not become healthy within 30 s; log: $dir/etcd.log"
    sleep 0.1
  done

  start_apiserver "$dir"

  # Controllers act under their own ServiceAccounts (kube-system/replicaset-controller, ...), as
  # on kubeadm clusters, so the webhook sees the same userInfo as in production.
  "$bins/kube-controller-manager" \
    --kubeconfig="$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$dir/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$dir/sa.key" --root-ca-file="$dir/ca.crt" \
    --service-cluster-ip-range=10.96.0.0/16 \
    >"$dir/kube-controller-manager.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/kube-controller-manager.pid"
  # The ServiceAccount controller creating `default` in `default` shows the controllers run.
  for i in $(seq 1 600); do
    curl -fsS --max-time 2 --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" \
      "https://127.0.0.1:$api_port/api/v1/namespaces/default/serviceaccounts/default" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null ||
      { tail -n 20 "$dir/kube-controller-manager.log" >&2; die "kube-controller-manager exited during startup; log: $dir/kube-controller-manager.log"; }
    [ "$i" = 600 ] && die "kube-controller-manager created no default ServiceAccount within 60 s; log: $dir/kube-controller-manager.log"
    sleep 0.1
  done
  cmd_env "$dir"
}

cmd_env() {
  local dir
  dir=$(run_dir_of "${1:-}")
  [ -f "$dir/admin.kubeconfig" ] || die "no control plane started in $dir ($me start $dir)"
  echo "KUBECONFIG=$dir/admin.kubeconfig"
  echo "IRSA_CP_RUN_DIR=$dir"
  echo "IRSA_CP_SERVER=https://127.0.0.1:$(cat "$dir/apiserver.port")"
  echo "IRSA_CP_CA=$dir/ca.crt"
  echo "IRSA_CP_TOKEN=$(cut -d, -f1 "$dir/tokens.csv")"
  echo "IRSA_CP_TOKEN_KUBECONFIG=$dir/token.kubeconfig"
  echo "IRSA_CP_BIN_DIR=$(cat "$dir/bin_dir")"
}

cmd_restart_apiserver() {
  local dir
  dir=$(run_dir_of "${1:-}")
  stop_one "$dir" kube-apiserver
  start_apiserver "$dir"
}

# Sends SIGTERM to the process recorded in <name>.pid, SIGKILL after 10 s.
stop_one() {
  local dir=$1 name=$2 pid i
  [ -f "$dir/$name.pid" ] || return 0
  pid=$(cat "$dir/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$name.pid"
}

cmd_stop_processes() {
  local dir=$1
  stop_one "$dir" kube-controller-manager
  stop_one "$dir" kube-apiserver
  stop_one "$dir" etcd
}

cmd_stop() {
  local dir
  dir=$(run_dir_of "${1:-}")
  cmd_stop_processes "$dir"
  rm -rf "$dir"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start "${2:-}" ;;
  env) cmd_env "${2:-}" ;;
  restart-apiserver) cmd_restart_apiserver "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
