#!/usr/bin/env bash
# Installs what building, testing and running irsa-webhook needs on Debian 12 (bookworm).
# Idempotent: packages already present are not reinstalled. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl unzip openssl jq
  clang libclang-rt-14-dev clang-format clang-tidy ccache
  nlohmann-json3-dev libyaml-dev libsimdjson-dev libspdlog-dev libssl-dev libcpp-httplib-dev
  libboost1.81-dev libevent-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm
  wrk nginx-light
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node 20 from elsewhere (e.g. nvm or nodesource) satisfies nodejs/npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
# nginx (full) satisfies nginx-light.
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then missing=("${missing[@]/nginx-light}"); fi
read -r -a missing <<<"${missing[*]}"

# tests/docker/check-runtime-libs.sh resolves Debian dependencies from apt's package lists.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
  echo "install-deps: no apt package lists, running apt-get update"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
