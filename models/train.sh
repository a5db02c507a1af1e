#!/usr/bin/env bash
# Reproduces every artifact of models/ from scratch on CPU with fixed seeds.
#   models/train.sh           full run into models/ (about an hour on 2 cores)
#   models/train.sh --smoke   a few steps of the whole pipeline into a temporary folder
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3   # Debian's interpreter: python3-torch lives in its dist-packages

need=()
"$PY" -c "import torch" 2>/dev/null || need+=(python3-torch)
"$PY" -c "import onnx" 2>/dev/null || need+=(python3-onnx)
"$PY" -c "import numpy" 2>/dev/null || need+=(python3-numpy)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${1:-}" = "--smoke" ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  cd "$here" && "$PY" -m training.main --out "$out" --smoke
  for m in fmnist-inn fmnist-inn-inverse fmnist-compact-k2 fmnist-compact-k3 fmnist-compact-k4 fmnist-parm-k2 fmnist-parm-k4; do
    for f in config.json 1/model.onnx 1/golden.json; do
      [ -s "$out/$m/$f" ] || { echo "smoke: missing $m/$f" >&2; exit 1; }
    done
  done
  echo "smoke: all 7 models exported"
else
  cd "$here" && "$PY" -m training.main --out "$here" "$@"
fi
