"""Running Blender (pip bpy) work in a child process from a test, and the `posebake` CLI.

Why a child: bpy keeps global state (registered classes, open files) and pip bpy 4.5 can hang at exit
while classes are registered, so each Blender step runs in its own interpreter under `timeout` and
reports back through a JSON file. The child script takes ``MODE REPO ARGS... RESULT_JSON`` and writes a
dict, with an "error" key (a traceback) when it failed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POSEBAKE = [sys.executable, "-m", "posebake.cli"]


def run_bpy_child(tmp: Path, source: str, name: str, *args: str, timeout: int = 180) -> dict:
    """Write `source` to tmp/NAME.py, run it as ``MODE REPO ARGS... RESULT`` and return its result dict."""
    script = tmp / f"{name}.py"
    script.write_text(source)
    result = tmp / f"{name}_{args[0]}.json"
    proc = subprocess.run(["timeout", str(timeout), sys.executable, str(script), args[0], str(REPO), *args[1:],
                           str(result)], capture_output=True, text=True)
    assert result.is_file(), f"bpy child died (rc {proc.returncode}): {proc.stderr[-3000:]}"
    res = json.loads(result.read_text())
    assert "error" not in res, res["error"]
    return res


def posebake(*args: str | Path, timeout: int = 500) -> subprocess.CompletedProcess:
    """The `posebake` CLI in a subprocess (two torch threads: the CI machine has two cores)."""
    return subprocess.run(["timeout", str(timeout), *POSEBAKE, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
