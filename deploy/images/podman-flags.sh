# Sourced by deploy/images/*.sh and deploy/containers.sh: the podman flags this kind of host needs.
# - `--runtime runc`: Debian's podman defaults to crun, which is not installed here; runc is.
# - Explicit ulimits: by default podman asks for nofile=1048576 and nproc=(the host's), which runc may not set here
#   ("error setting rlimit type 6: operation not permitted" on 2026-12-06 with a hard nproc of 96367; 32768 was
#   accepted), so the container never starts. nofile is the host's hard limit, nproc 32768.
# shellcheck shell=bash
PODMAN=(podman --runtime runc)
PODMAN_ULIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=32768:32768")
PODMAN_BUILD_FLAGS=("${PODMAN_ULIMITS[@]}")
