#!/usr/bin/env bash
# Every lesson on the gpu profile on a CUDA machine, against the plain libraries, in under 8 minutes.
# Builds its real-shaped random-weight models itself (nothing can be downloaded there).
#   bash benchmarks/gpu.sh            # needs a CUDA GPU
#   bash benchmarks/gpu.sh --smoke    # the same script on a CPU with tiny models (checks the script)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
if [ "${1:-}" != "--smoke" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "benchmarks/gpu.sh: no nvidia-smi here: this benchmark needs a CUDA GPU (--smoke checks it on a CPU)" >&2
  exit 1
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
exec timeout 480 "$PY" -u benchmarks/gpu.py "$@"  # -u: each row is out before a timeout could cut it
