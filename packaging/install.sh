#!/usr/bin/env bash
# Install genviz (editable) with its dependencies. On a machine without an NVIDIA GPU the CPU build
# of torch is pinned first, so pip never pulls gigabytes of CUDA wheels; with a GPU, pip's normal
# torch (with CUDA) is used.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    "$PY" -m pip install "torch>=2.2"
  else
    "$PY" -m pip install "torch==2.13.0"
  fi
fi
"$PY" -m pip install -e ".${1:-}"
