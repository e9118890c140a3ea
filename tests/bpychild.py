"""Running Blender (pip bpy) work in a child process from a test, and the `posebake` CLI.

Why a child: bpy keeps global state (registered classes, open files) and pip bpy 4.5 can hang at exit
while classes are registered, so each Blender step runs in its own interpreter under `timeout`. The
Blender-side code is real modules in tests/blender_side/ (linted, importable, sharing helpers); the one
child runner there (`run.py`) calls a function of one and hands its returned dict back through a JSON file.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
POSEBAKE = [sys.executable, "-m", "posebake.cli"]


def run_blender(tmp: Path, module: str, function: str, *args: str, timeout: int = 180,
                env: dict[str, str] | None = None, cwd: Path | None = None, python: str | None = None,
                detail: Callable[[], str] = lambda: "") -> dict:
    """Run `tests/blender_side/MODULE.py`'s FUNCTION(*ARGS) inside pip bpy through the one child runner
    (`tests/blender_side/run.py`) and return the dict it returned; fails the test on a crash or error.
    `python` picks another interpreter (another bpy version); the default is this one."""
    result = tmp / f"{module}_{function}.json"
    result.unlink(missing_ok=True)
    proc = subprocess.run(["timeout", str(timeout), python or sys.executable,
                           str(REPO / "tests" / "blender_side" / "run.py"), module, function, str(result), *args],
                          capture_output=True, text=True, env=env, cwd=cwd)
    assert result.is_file(), f"bpy child died (rc {proc.returncode}): {proc.stderr[-3000:]}"
    res = json.loads(result.read_text())
    assert "error" not in res, res["error"] + detail()
    return res


def posebake(*args: str | Path, timeout: int = 500) -> subprocess.CompletedProcess:
    """The `posebake` CLI in a subprocess (two torch threads: the CI machine has two cores)."""
    return subprocess.run(["timeout", str(timeout), *POSEBAKE, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})


def build_rig_blend(tmp: Path, preset: str, out: Path, seed: int, legless: bool = False) -> Path:
    """Save a test rig (tests/rigbuilder.py, A pose) as a .blend from a bpy child; returns `out`."""
    run_blender(tmp, "saved_scene", "build_rig", preset, str(out), str(seed), "legless" if legless else "full")
    return out
