#!/usr/bin/env bash
# Builds the silo images with podman on a machine that cannot pull the official base images: the bases are the local
# stand-ins of deploy/images/stand-ins.sh (built first when missing), passed as the Dockerfiles' build arguments.
# This machine's NuGet cache (~/.nuget/packages) is mounted read-only as the SDK stand-in's NuGet fallback folder,
# so the build stage restores without downloading ONNX Runtime again.
#
#   deploy/images/build.sh [cpu|gpu|all]   # default cpu; tags asymcdc-silo:dev and asymcdc-silo-gpu:dev
#
# Where the official images can be pulled, build as the Dockerfiles say, without this script:
#   docker build -f src/AsymCdc.Silo/Dockerfile -t asymcdc-silo:dev .
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/deploy/images/stand-ins.sh"
# shellcheck source=deploy/images/podman-flags.sh
. "$root/deploy/images/podman-flags.sh"
read -r -a base_args <<<"$("$root/deploy/images/stand-ins.sh" --build-args)"
nuget="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
mkdir -p "$nuget"

build() { # build DOCKERFILE TAG
  local started=$SECONDS
  echo "build.sh: building $2 from src/AsymCdc.Silo/$1 on the stand-in bases" >&2
  "${PODMAN[@]}" build "${PODMAN_BUILD_FLAGS[@]}" "${base_args[@]}" \
    --volume "$nuget:/nuget-fallback:ro" \
    -f "src/AsymCdc.Silo/$1" -t "$2" . >&2
  echo "build.sh: $2 built in $((SECONDS - started)) s, $("${PODMAN[@]}" image inspect --format '{{.Size}}' "$2" | awk '{printf "%.0f", $1 / 1e6}') MB" >&2
}

case "${1:-cpu}" in
  cpu) build Dockerfile asymcdc-silo:dev ;;
  gpu) build Dockerfile.gpu asymcdc-silo-gpu:dev ;;
  all) build Dockerfile asymcdc-silo:dev && build Dockerfile.gpu asymcdc-silo-gpu:dev ;;
  *) echo "usage: deploy/images/build.sh [cpu|gpu|all]" >&2; exit 2 ;;
esac
