#!/usr/bin/env bash
# Local stand-ins for the official base images of src/AsymCdc.Silo/Dockerfile and Dockerfile.gpu, for a machine that
# cannot pull from mcr.microsoft.com or Docker Hub but has Debian's package mirror and a .NET 10 install (this
# repository's build machine). The Dockerfiles take their bases as build arguments whose defaults stay the official
# images; deploy/images/build.sh passes these stand-ins instead:
#
#   localhost/asymcdc-standin/debian:bookworm        debootstrap --variant=minbase bookworm, imported
#   localhost/asymcdc-standin/dotnet-sdk:<sdk>       Debian + this machine's /usr/share/dotnet (SDK and runtimes)
#   localhost/asymcdc-standin/aspnet:<runtime>       Debian + the .NET and ASP.NET Core shared frameworks only,
#                                                    the `app` user (uid 1654) and ASPNETCORE_HTTP_PORTS=8080, as the
#                                                    official aspnet image has
#   localhost/asymcdc-standin/cuda:<tag>             Debian, labelled: NO CUDA OR cuDNN LIBRARIES. It only lets
#                                                    Dockerfile.gpu build to the end; the image cannot run on a GPU.
#
# The stand-ins are Debian 12, not Ubuntu 24.04: Dockerfile.gpu installs Ubuntu's libssl3t64, so the CUDA stand-in
# carries an empty package of that name that depends on Debian's libssl3.
#
# Installs podman, runc, debootstrap and iptables (netavark, podman's network stack, needs it) from Debian when
# missing. Podman on this kind of host needs `--runtime runc` and explicit `--ulimit nofile=...`/`--ulimit nproc=...`:
# deploy/images/podman-flags.sh says why and carries them for every build and run.
# Idempotent: an image that exists is kept (ASYMCDC_STANDIN_REBUILD=1 rebuilds them all).
#
#   deploy/images/stand-ins.sh            # prints the build arguments to pass, e.g.
#   podman build $(deploy/images/stand-ins.sh --build-args) -f src/AsymCdc.Silo/Dockerfile -t asymcdc-silo:dev .
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dotnet_root="${DOTNET_ROOT:-/usr/share/dotnet}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
prefix="localhost/asymcdc-standin"
# The CUDA stand-in keeps the official tag, so the build output names the base it stands in for.
cuda_tag="13.0.2-cudnn-runtime-ubuntu24.04"

log() { echo "stand-ins: $*" >&2; }

sdk_version() { ls "$dotnet_root/sdk" | sort -V | tail -n 1; }
runtime_version() { ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -n 1; }

debian_image="$prefix/debian:bookworm"
sdk_image() { echo "$prefix/dotnet-sdk:$(sdk_version)"; }
runtime_image() { echo "$prefix/aspnet:$(runtime_version)"; }
cuda_image="$prefix/cuda:$cuda_tag"

if [ "${1:-}" = "--build-args" ]; then
  echo "--build-arg SDK_IMAGE=$(sdk_image) --build-arg RUNTIME_IMAGE=$(runtime_image) --build-arg CUDA_IMAGE=$cuda_image"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "deploy/images/stand-ins.sh: run as root (rootful podman; debootstrap needs root)" >&2
  exit 1
fi

# --- tools --------------------------------------------------------------------------------------------------------
missing=()
for tool in podman runc debootstrap iptables; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    podman runc debootstrap iptables netavark aardvark-dns uidmap fuse-overlayfs >/dev/null
fi

# shellcheck source=deploy/images/podman-flags.sh
. "$root/deploy/images/podman-flags.sh"

exists() { [ -z "${ASYMCDC_STANDIN_REBUILD:-}" ] && podman image exists "$1"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- Debian base ----------------------------------------------------------------------------------------------------
if exists "$debian_image"; then
  log "$debian_image exists"
else
  log "debootstrapping Debian bookworm (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import \
    --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --message "debootstrap --variant=minbase bookworm $mirror" - "$debian_image" >/dev/null
  rm -rf "$work/rootfs"
fi

build() { # build IMAGE CONTEXT (Containerfile on stdin)
  "${PODMAN[@]}" build "${PODMAN_BUILD_FLAGS[@]}" -q -t "$1" -f - "$2" >/dev/null
}

# --- .NET SDK ---------------------------------------------------------------------------------------------------------
if exists "$(sdk_image)"; then
  log "$(sdk_image) exists"
else
  log "building $(sdk_image) from $dotnet_root"
  # The NuGet cache mount of the Dockerfiles starts empty; /nuget-fallback is a fallback folder that
  # deploy/images/build.sh fills by mounting this machine's ~/.nuget/packages read-only, so ONNX Runtime
  # (~300 MB) is not downloaded again. Packages missing there come from nuget.org as usual.
  mkdir -p "$work/sdk"
  cat >"$work/sdk/NuGet.Config" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <fallbackPackageFolders>
    <add key="host" value="/nuget-fallback" />
  </fallbackPackageFolders>
</configuration>
XML
  cp -a "$dotnet_root" "$work/sdk/dotnet"
  # This machine reaches nuget.org through an egress proxy with its own CA (/usr/local/share/ca-certificates); the
  # SDK stand-in trusts the same CAs, or restore fails with "UntrustedRoot". The runtime stand-ins do not need them.
  mkdir -p "$work/sdk/ca"
  cp -a /usr/local/share/ca-certificates/. "$work/sdk/ca/" 2>/dev/null || true
  build "$(sdk_image)" "$work/sdk" <<EOF
FROM $debian_image
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 zlib1g tzdata \\
    && rm -rf /var/lib/apt/lists/* && mkdir -p /nuget-fallback
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY dotnet /usr/share/dotnet
COPY NuGet.Config /root/.nuget/NuGet/NuGet.Config
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_ROOT=/usr/share/dotnet DOTNET_RUNNING_IN_CONTAINER=true DOTNET_NOLOGO=true \\
    DOTNET_CLI_TELEMETRY_OPTOUT=true DOTNET_SKIP_FIRST_TIME_EXPERIENCE=true
LABEL org.opencontainers.image.description="Stand-in for mcr.microsoft.com/dotnet/sdk:$(sdk_version)-noble: Debian 12 + the SDK of the build machine"
EOF
  rm -rf "$work/sdk"
fi

# --- ASP.NET Core runtime -------------------------------------------------------------------------------------------
if exists "$(runtime_image)"; then
  log "$(runtime_image) exists"
else
  log "building $(runtime_image) from $dotnet_root/shared"
  v="$(runtime_version)"
  mkdir -p "$work/rt/dotnet/shared"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/LICENSE.txt" "$dotnet_root/ThirdPartyNotices.txt" "$work/rt/dotnet/"
  cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$work/rt/dotnet/shared/"
  build "$(runtime_image)" "$work/rt" <<EOF
FROM $debian_image
# What the official runtime-deps image carries (ICU included, as there); bash is in minbase (HEALTHCHECK).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 zlib1g tzdata \\
    && rm -rf /var/lib/apt/lists/* \\
    && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home --shell /usr/sbin/nologin app
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_VERSION=$v ASPNET_VERSION=$v
LABEL org.opencontainers.image.description="Stand-in for mcr.microsoft.com/dotnet/aspnet:$v-noble: Debian 12 + the .NET and ASP.NET Core runtimes of the build machine"
EOF
  rm -rf "$work/rt"
fi

# --- CUDA base (no CUDA) ----------------------------------------------------------------------------------------------
if exists "$cuda_image"; then
  log "$cuda_image exists"
else
  log "building $cuda_image (NO CUDA libraries: lets Dockerfile.gpu build, not run on a GPU)"
  mkdir -p "$work/cuda/libssl3t64/DEBIAN"
  cat >"$work/cuda/libssl3t64/DEBIAN/control" <<'EOF'
Package: libssl3t64
Version: 3.0.0-standin
Architecture: all
Maintainer: AsymCdc stand-ins <noreply@localhost>
Depends: libssl3
Description: empty stand-in for Ubuntu 24.04's libssl3t64 (Debian 12 calls it libssl3)
EOF
  dpkg-deb --build --root-owner-group "$work/cuda/libssl3t64" "$work/cuda/libssl3t64.deb" >/dev/null
  rm -rf "$work/cuda/libssl3t64"
  build "$cuda_image" "$work/cuda" <<EOF
FROM $debian_image
COPY libssl3t64.deb /tmp/
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 && dpkg -i /tmp/libssl3t64.deb \\
    && rm -rf /var/lib/apt/lists/* /tmp/libssl3t64.deb
LABEL org.opencontainers.image.description="STAND-IN for nvidia/cuda:$cuda_tag with NO CUDA OR cuDNN LIBRARIES: Debian 12 only, so that Dockerfile.gpu builds; the result cannot use a GPU" \\
      com.asymcdc.standin.cuda="none"
EOF
fi

podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep "^$prefix/" >&2
