#!/usr/bin/env bash
# Runs every test of the repository: unit, ONNX Runtime, Orleans TestingHost, Redis, deployment
# manifests and the training-pipeline smoke test. Installs what it needs first.
# Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

# --- system packages the tests use (Debian) -----------------------------------------------
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v yamllint >/dev/null || need+=(yamllint)
/usr/bin/python3 -c "import torch" 2>/dev/null || need+=(python3-torch)
/usr/bin/python3 -c "import onnx" 2>/dev/null || need+=(python3-onnx)
/usr/bin/python3 -c "import numpy" 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c "import sklearn" 2>/dev/null || need+=(python3-sklearn)   # models/train-user-models.sh (digits-mlp)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null \
    || { echo "test.sh: could not install ${need[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi
command -v kubectl >/dev/null || echo "test.sh: kubectl not found; the manifest tests will fail"

# --- build once, then test every project ------------------------------------------------------
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
if ! dotnet build AsymCdc.Orleans.sln -c Release -nologo -v q 2>&1 | tail -n 30; then
  echo "test.sh: build failed"
fi
status=0
dotnet test AsymCdc.Orleans.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" -- RunConfiguration.TreatNoTestsAsError=false || status=$?

# --- one summary line from the TRX files ---------------------------------------------------------
read -r passed failed skipped < <(python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    c = ET.parse(path).getroot().find(".//{*}ResultSummary/{*}Counters")
    if c is None: continue
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    s += int(c.get("notExecuted", 0)) + int(c.get("inconclusive", 0))
print(p, f, s)
PY
)
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; echo "test.sh: dotnet test exited with $status (build or host failure)"; fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "${failed:-0}" -eq 0 ]
