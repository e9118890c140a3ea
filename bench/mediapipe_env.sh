#!/usr/bin/env bash
# Create (or verify) the isolated MediaPipe venv used for the baseline benchmark.
#
# Why a separate venv: mediapipe 0.10.14 pins protobuf/numpy versions that would
# fight with the project's torch stack, and the baseline must measure MediaPipe
# as users would run it, untouched by our dependencies. The venv is git-ignored
# (.venv-*). The script is idempotent: when the venv already imports mediapipe
# at the pinned version with the pinned deps it only prints the python path.
#
# Usage: bench/mediapipe_env.sh [VENV_DIR]   (default: <repo>/.venv-mediapipe)
# Last stdout line: absolute path of the venv's python.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${1:-${MEDIAPIPE_VENV:-$REPO_ROOT/.venv-mediapipe}}"
PYTHON="${PYTHON311:-python3.11}"
MP_VERSION="0.10.14"
# mediapipe itself goes in with --no-deps: its declared deps would pull
# jax/sounddevice/full opencv that the legacy Pose solution never uses.
DEPS=(absl-py attrs flatbuffers matplotlib "protobuf==4.25.9" "numpy==1.26.4"
      "opencv-python-headless==4.11.0.86")

log() { echo "[mediapipe_env] $*" >&2; }

venv_ok() {
    # Complete = interpreter exists, mediapipe at the pinned version imports,
    # the legacy pose solution loads, and the pinned numpy/protobuf are present.
    [[ -x "$VENV_DIR/bin/python" ]] || return 1
    "$VENV_DIR/bin/python" - "$MP_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
import importlib.metadata as md
want = sys.argv[1]
assert md.version("mediapipe") == want, md.version("mediapipe")
assert md.version("numpy") == "1.26.4"
assert md.version("protobuf") == "4.25.9"
import cv2  # noqa: F401
import mediapipe as mp
mp.solutions.pose.Pose  # noqa: B018  (fails if the legacy solution API is missing)
EOF
}

if venv_ok; then
    log "already complete: $VENV_DIR"
    echo "$VENV_DIR/bin/python"
    exit 0
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON not found. The MediaPipe baseline needs Python 3.11" \
         "(mediapipe $MP_VERSION wheels); install it or set PYTHON311=/path/to/python3.11." >&2
    exit 2
fi

if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    log "creating $VENV_DIR with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV_DIR"
fi

PIP=("$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -q)
log "installing mediapipe==$MP_VERSION (--no-deps)"
"${PIP[@]}" --no-deps "mediapipe==$MP_VERSION"
log "installing runtime deps: ${DEPS[*]}"
"${PIP[@]}" "${DEPS[@]}"

if ! venv_ok; then
    echo "error: $VENV_DIR was set up but 'import mediapipe; mediapipe.solutions.pose'" \
         "still fails; run $VENV_DIR/bin/python -c 'import mediapipe' to see why." >&2
    exit 3
fi
log "ready: $VENV_DIR"
echo "$VENV_DIR/bin/python"
