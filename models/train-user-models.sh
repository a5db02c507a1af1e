#!/usr/bin/env bash
# Trains the two stand-in *user* models of issue 25 (classifiers that are not ours) on CPU with fixed seeds and
# exports them into the model repository, with the digits data split the C# side evaluates on:
#   models/train-user-models.sh           fmnist-cnn and digits-mlp into models/ (about 2 minutes on 2 cores)
#   models/train-user-models.sh --smoke   a few steps of each into a temporary folder
# Their decoders are not trained here: that is `asymcdc train-decoders` (README, "Bring your own model").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3   # Debian's interpreter: python3-torch and python3-sklearn live in its dist-packages

need=()
"$PY" -c "import torch" 2>/dev/null || need+=(python3-torch)
"$PY" -c "import onnx" 2>/dev/null || need+=(python3-onnx)
"$PY" -c "import numpy" 2>/dev/null || need+=(python3-numpy)
"$PY" -c "import sklearn" 2>/dev/null || need+=(python3-sklearn)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

export PYTHONDONTWRITEBYTECODE=1
if [ "${1:-}" = "--smoke" ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  cd "$here" && "$PY" -m training.user_models --out "$out" --smoke
  for f in fmnist-cnn/config.json fmnist-cnn/1/model.onnx fmnist-cnn/1/golden.json \
           digits-mlp/config.json digits-mlp/1/model.onnx digits-mlp/1/golden.json \
           data/digits/train.json data/digits/train-images.f32 data/digits/train-labels.u8 \
           data/digits/test.json data/digits/test-images.f32 data/digits/test-labels.u8; do
    [ -s "$out/$f" ] || { echo "smoke: missing $f" >&2; exit 1; }
  done
  echo "smoke: 2 user models and the digits split exported"
else
  cd "$here" && "$PY" -m training.user_models --out "$here" "$@"
fi
