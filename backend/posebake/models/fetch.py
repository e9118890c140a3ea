"""Obtain the model files: from the mediapipe wheel on PyPI, or from a local directory (offline installs).

Only the four .tflite files are extracted from the wheel; nothing of mediapipe is installed or imported.
A second fetch with a healthy cache does nothing; a corrupted cached file is detected by its checksum and
fetched again.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from posebake_core.errors import PoseBakeError
from .registry import MODELS, WHEEL_PLATFORM_ARGS, WHEEL_REQUIREMENT
from . import runtime, store


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           *WHEEL_PLATFORM_ARGS, "-d", str(dest), WHEEL_REQUIREMENT]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except FileNotFoundError as exc:
        raise PoseBakeError(f"cannot run pip ({exc}); use `posebake models fetch --from DIR`") from exc
    except subprocess.TimeoutExpired as exc:
        raise PoseBakeError("pip download of the model wheel timed out after 15 min; check the network "
                            "or use `posebake models fetch --from DIR`") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise PoseBakeError(f"pip could not download {WHEEL_REQUIREMENT} (exit {proc.returncode}):\n{tail}\n"
                            "Check the network / package index, or use `posebake models fetch --from DIR` "
                            "with the .tflite files.")
    wheels = sorted(dest.glob("mediapipe-*.whl"))
    if not wheels:
        raise PoseBakeError(f"pip reported success but no mediapipe wheel is in {dest}")
    return wheels[0]


def _from_wheel(names: list[str], log: Callable[[str], None]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="posebake-wheel-") as tmp:
        log(f"downloading {WHEEL_REQUIREMENT} (only to read its model files)…")
        wheel = _download_wheel(Path(tmp))
        try:
            with zipfile.ZipFile(wheel) as zf:
                return {n: zf.read(MODELS[n].member) for n in names}
        except (zipfile.BadZipFile, KeyError) as exc:
            raise PoseBakeError(f"{wheel.name} is not the expected mediapipe wheel: {exc}") from exc


def _from_dir(names: list[str], src: Path) -> dict[str, bytes]:
    if not src.is_dir():
        raise PoseBakeError(f"--from {src}: not a directory")
    found: dict[str, bytes] = {}
    for n in names:
        candidates = sorted(src.rglob(MODELS[n].filename))
        if not candidates:
            raise PoseBakeError(f"--from {src}: {MODELS[n].filename} not found (searched recursively)")
        found[n] = candidates[0].read_bytes()
    return found


def fetch(names: list[str] | None = None, source: Path | None = None,
          log: Callable[[str], None] = print) -> dict[str, str]:
    """Make sure every model is cached, verified, converted (and exported to ONNX where ONNX Runtime is
    installed). Returns name -> what was done."""
    names = list(names or MODELS)
    store.ensure_cache_writable()
    actions: dict[str, str] = {}
    need: list[str] = []
    for n in names:
        st = store.state(n)
        if st.tflite_ok:
            continue
        if st.tflite.exists():
            log(f"{st.tflite.name}: checksum mismatch, the cached file is corrupted; fetching it again")
            actions[n] = "re-fetched (corrupted)"
        need.append(n)
    if need:
        blobs = _from_dir(need, source) if source else _from_wheel(need, log)
        for n, data in blobs.items():
            store.install_tflite(n, data)
            actions.setdefault(n, "fetched")
    for n in names:
        if not store.state(n).torch_ok:
            log(f"converting {n} to torch…")
            store.convert(n)
            actions.setdefault(n, "converted")
        if runtime.onnx_available() and not runtime.onnx_ok(n):  # the CPU engine's copy (runtime.py)
            log(f"exporting {n} to ONNX…")
            runtime.export_onnx(n)
            actions.setdefault(n, "exported to ONNX")
        actions.setdefault(n, "ok (cached)")
    return actions
