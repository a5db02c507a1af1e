#!/usr/bin/env bash
# Packs the CLI, self-contained (the .NET runtime, ONNX Runtime and its CUDA provider included), for a machine that has
# the NVIDIA driver, CUDA 13 and cuDNN 9 but no .NET: an xz archive in pieces small enough for one device call each
# (the device tool carries at most 64 MiB per call). deploy/device/bench-cuda.sh joins and runs them there.
#   deploy/device/pack.sh            -> artifacts/device/part-00, part-01, ... (prints them)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=artifacts/device
piece_mib=${PIECE_MIB:-60}
rm -rf "$out"
mkdir -p "$out"
dotnet publish src/AsymCdc.Cli/AsymCdc.Cli.csproj -c Release -r linux-x64 --self-contained true -nologo -v q \
  -o "$out/cli" >/dev/null
# The Windows natives the ONNX Runtime package copies too, and the TensorRT provider, which the product never asks for.
rm -f "$out"/cli/onnxruntime*.dll "$out"/cli/libonnxruntime_providers_tensorrt.so
[ -f "$out/cli/libonnxruntime_providers_cuda.so" ] || { echo "pack.sh: the publish has no CUDA provider" >&2; exit 1; }
tar -C "$out" -cf - cli | xz -T0 -6 | split -b "${piece_mib}m" -d -a 2 - "$out/part-"
rm -rf "$out/cli"
ls -l "$out"/part-* | awk '{printf "%s %.1f MiB\n", $NF, $5 / 1048576}'
