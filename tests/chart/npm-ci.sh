#!/usr/bin/env bash
# Installs the chart tests' pinned npm packages into tests/chart/node_modules (also used by
# tests/cluster). npm ci wipes and reinstalls node_modules, so it runs only when package-lock.json
# changed since the last install.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stamp=$here/node_modules/.irsa-package-lock.sha256
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
