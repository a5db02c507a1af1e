#!/usr/bin/env bash
# Runs `asymcdc bench` with CUDA workers and, in the same run on the same machine, with CPU workers, from the pieces
# deploy/device/pack.sh made (carried to the device one call each). Results go to $OUT (or ./device-out).
#   deploy/device/bench-cuda.sh [BENCH OPTIONS...]      e.g. -m none,hedged,asymcdc-compact,auto --straggler-rates 0.01,0.05
# Without options: the quick preset's scenarios for none, hedged, asymcdc-compact and auto.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-$root/device-out}"
mkdir -p "$out"
cli=/tmp/asymcdc-device/cli/asymcdc
if [ ! -x "$cli" ]; then
  ls artifacts/device/part-* >/dev/null 2>&1 || { echo "bench-cuda.sh: no artifacts/device/part-* here; run deploy/device/pack.sh and carry them" >&2; exit 2; }
  mkdir -p /tmp/asymcdc-device
  cat artifacts/device/part-* | xz -dc | tar -x -C /tmp/asymcdc-device || { echo "bench-cuda.sh: a piece is missing or damaged" >&2; exit 2; }
fi
# Where the device images keep CUDA 13 and cuDNN 9 (docs/GPU.md).
export LD_LIBRARY_PATH="/usr/local/cuda-13.0/targets/x86_64-linux/lib:/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1 || true
nproc > "$out/cpus.txt"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--preset quick -m none,hedged,asymcdc-compact,auto)
# ALSO_CUDA_POOL=1 adds a third run: CUDA workers with their runners on the thread pool instead of threads of their
# own (the cuda default, AsymCdc:Inference:DedicatedThreads, not yet measured against the pool on a GPU).
runs=(cuda cpu)
[ "${ALSO_CUDA_POOL:-0}" = 1 ] && runs+=(cuda-pool)
status=0
for run in "${runs[@]}"; do
  case "$run" in
    cuda-pool) sets=(--set AsymCdc:Inference:ExecutionProvider=cuda --set AsymCdc:Inference:DedicatedThreads=false) ;;
    *) sets=(--set "AsymCdc:Inference:ExecutionProvider=$run") ;;
  esac
  echo "== $run workers: asymcdc bench ${args[*]}"
  "$cli" bench "${args[@]}" --models models "${sets[@]}" -o "$out/bench-$run" > "$out/bench-$run.log" 2>&1 || status=$?
  tail -n 60 "$out/bench-$run.log"
done
exit $status
