#!/usr/bin/env bash
# Publishes a release: the multi-architecture image (linux/amd64, linux/arm64) and the Helm
# chart, both as OCI artifacts in one registry. Run by a maintainer on a machine with Docker
# (buildx, with QEMU emulation for the other architecture) and helm, logged in to REGISTRY:
#   docker login REGISTRY; helm registry login REGISTRY
#
# Usage: scripts/release.sh REGISTRY/NAMESPACE [--dry-run]
#   e.g. scripts/release.sh ghcr.io/irsa-webhook
# Publishes REGISTRY/NAMESPACE/irsa-webhook:VERSION (image) and
# oci://REGISTRY/NAMESPACE/charts/irsa-webhook VERSION (chart), VERSION being the project
# version in CMakeLists.txt, which must equal the chart's version and appVersion. The chart is
# packaged with image.repository pointing at the pushed image and image.digest at its index
# digest, so an install pulls exactly what was built. --dry-run checks and builds, pushes nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: $0 REGISTRY/NAMESPACE [--dry-run]}
dry_run=${2:-}
platforms=linux/amd64,linux/arm64

version=$(sed -n 's/^project(irsa_webhook VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
chart_version=$(sed -n 's/^version: *//p' "$root/charts/irsa-webhook/Chart.yaml")
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$root/charts/irsa-webhook/Chart.yaml")
[ -n "$version" ] || { echo "release: no project version in CMakeLists.txt" >&2; exit 1; }
if [ "$chart_version" != "$version" ] || [ "$app_version" != "$version" ]; then
  echo "release: CMakeLists.txt says $version, Chart.yaml version $chart_version and appVersion $app_version: make them equal" >&2
  exit 1
fi
if [ -n "$(git -C "$root" status --porcelain)" ]; then
  echo "release: the work tree has uncommitted changes; release from a clean commit" >&2
  exit 1
fi
image=$target/irsa-webhook

# Each pinned base image must be a multi-architecture index with both platforms.
for arg in BUILD_IMAGE LIBS_IMAGE RUNTIME_IMAGE; do
  ref=$(sed -n "s/^ARG $arg=//p" "$root/Dockerfile")
  manifest=$(docker buildx imagetools inspect --raw "$ref")
  for p in amd64 arm64; do
    grep -q "\"architecture\": *\"$p\"" <<<"$manifest" ||
      { echo "release: $arg=$ref has no linux/$p image: update the pin" >&2; exit 1; }
  done
  echo "base $arg=$ref covers linux/amd64 and linux/arm64"
done

# The checks a release must pass, on this machine's build.
"$root/tests/docker/check-runtime-libs.sh" "$root/build/release/src/cli/irsa-webhook"
"$root/tests/chart/run.sh" "$root/build/release/src/cli/irsa-webhook"

push=--push
[ "$dry_run" = --dry-run ] && push=--output=type=cacheonly
docker buildx build --platform "$platforms" \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$(git -C "$root" rev-parse HEAD)" \
  -t "$image:$version" $push "$root"
if [ "$dry_run" = --dry-run ]; then
  helm package "$root/charts/irsa-webhook" --destination "$(mktemp -d)"
  echo "release: dry run passed for $version (nothing pushed)"
  exit 0
fi
digest=$(docker buildx imagetools inspect "$image:$version" --format '{{json .Manifest.Digest}}' | tr -d '"')
echo "pushed $image:$version ($digest)"

# The chart, pointing at that exact image.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/charts/irsa-webhook" "$work/"
sed -i -e "s#^  repository: .*#  repository: $image#" -e "s#^  digest: \"\"#  digest: \"$digest\"#" "$work/irsa-webhook/values.yaml"
helm lint --strict "$work/irsa-webhook"
helm package "$work/irsa-webhook" --destination "$work"
helm push "$work/irsa-webhook-$version.tgz" "oci://$target/charts"
echo "pushed oci://$target/charts/irsa-webhook $version"
echo "install: helm install irsa-webhook oci://$target/charts/irsa-webhook --version $version --namespace irsa-webhook --create-namespace -f values.yaml"
