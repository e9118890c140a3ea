#!/usr/bin/env bash
# The GPU proof (issue #21) in one command, for a CUDA machine lent for minutes:
#   bench/gpu.sh [--dry-run] [--wheels DIR] [--models DIR] [--out FILE]
# 1. Uses the Python that holds a CUDA torch ($PYTHON, else python3; the dry run prefers .venv/bin/python),
#    puts this checkout's packages on its path, and installs what it lacks from --wheels DIR (no network
#    needed: carry the wheels, e.g. tflite, with the checkout).
# 2. Model files from --models DIR (the four .tflite files of the mediapipe wheel), else the model cache or
#    the usual fetch.
# 3. The CUDA tests (tests/test_cuda.py: float16 on the GPU against the CPU), then bench/gpu.py's speed table,
#    written to bench/results/gpu.md (--out to change). Under 8 minutes on an H100/H200.
# --dry-run: the same steps on the CPU at toy sizes, so the script cannot rot (tests/test_gpu_script.py in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=0 WHEELS="" MODELS="" OUTFILE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --wheels) WHEELS="$2"; shift ;;
    --models) MODELS="$2"; shift ;;
    --out) OUTFILE="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench/gpu.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ "$DRY" = 1 ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
T0=$(date +%s)
step() { echo "== bench/gpu.sh [$(( $(date +%s) - T0 )) s] $*"; }

step "python: $("$PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())')"
if [ -n "$WHEELS" ]; then
  step "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS"
  SITE="${TMPDIR:-/tmp}/posebake-gpu-site"
  "$PY" -m pip install -q --no-index --no-deps --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD:$PWD/backend:$PWD/core:$PWD/addon${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import posebake, posebake_core, cv2, scipy, tflite, flatbuffers, pytest" || {
  echo "bench/gpu.sh: a package PoseBake needs is missing; carry its wheel and pass --wheels DIR" >&2; exit 1; }
if [ "$DRY" = 0 ]; then
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
    echo "bench/gpu.sh: torch sees no CUDA device here; run with --dry-run on a CPU" >&2; exit 1; }
fi

step "models"
if [ -n "$MODELS" ]; then "$PY" -m posebake.cli models fetch --from "$MODELS"; else "$PY" -m posebake.cli models fetch; fi

step "CUDA tests (tests/test_cuda.py)"
if [ "$DRY" = 1 ]; then export POSEBAKE_GPU_DRY_RUN=1; fi
"$PY" -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py

step "speed (bench/gpu.py)"
ARGS=()
if [ "$DRY" = 1 ]; then ARGS+=(--dry-run); fi
if [ -n "$OUTFILE" ]; then ARGS+=(--out "$OUTFILE"); fi
"$PY" bench/gpu.py "${ARGS[@]}"
step "done"
