#!/usr/bin/env bash
# All Helm chart tests in one command: fetches helm/kubectl (scripts/fetch-k8s-tools.sh), installs
# the pinned npm packages (npm ci, skipped when node_modules already matches package-lock.json),
# then runs chart.test.mjs with node's test runner: helm lint --strict, helm template of every
# certificate mode and the Percona example, strict schema of every object (tsc --strict over
# kubernetes-models types), webhook/security/RBAC/certificate assertions, values-schema refusals,
# deploy/ freshness, the Percona acceptance through `irsa-webhook mutate`, and (serve.test.mjs,
# once the binary has `serve`) the rendered Deployment args run against the real server.
#
# Usage: tests/chart/run.sh [IRSA_WEBHOOK_BIN]
#   the irsa-webhook binary comes from the argument, else $IRSA_WEBHOOK_BIN, else build/dev.
# Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

bin=${1:-${IRSA_WEBHOOK_BIN:-}}
if [ -z "$bin" ] && [ -x "$root/build/dev/src/cli/irsa-webhook" ]; then
  bin=$root/build/dev/src/cli/irsa-webhook
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "tests/chart/run.sh: the acceptance test needs the irsa-webhook binary: pass its path (or set" >&2
  echo "IRSA_WEBHOOK_BIN), or build it: cmake --preset dev && cmake --build --preset dev" >&2
  exit 1
fi
export IRSA_WEBHOOK_BIN
IRSA_WEBHOOK_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

tools=$("$root/scripts/fetch-k8s-tools.sh")
export HELM=$tools/helm
command -v openssl >/dev/null || { echo "tests/chart/run.sh: openssl is missing (scripts/install-deps.sh)" >&2; exit 1; }

"$here/npm-ci.sh"

cd "$here"
exec node --test chart.test.mjs serve.test.mjs
