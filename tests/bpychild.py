"""Running Blender (pip bpy) work in a child process from a test, and the `posebake` CLI.

Why a child: bpy keeps global state (registered classes, open files) and pip bpy 4.5 can hang at exit
while classes are registered, so each Blender step runs in its own interpreter under `timeout` and
reports back through a JSON file. A test supplies only the body of the child script: `child_script` wraps
it so that it sees ``sys.argv = [script, MODE, REPO, ARGS..., RESULT_JSON]`` with tests/ importable, fills
the dict ``out``, and the wrapper writes that dict (with an "error" key holding the traceback when the body
raised) and leaves through ``os._exit`` so a registered add-on cannot hang the exit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POSEBAKE = [sys.executable, "-m", "posebake.cli"]


_PROLOGUE = """import json, os, sys, traceback
sys.path[:0] = [sys.argv[2] + "/tests"]
out = {}
try:
"""
_EPILOGUE = """
except Exception:
    out["error"] = traceback.format_exc()
with open(sys.argv[-1], "w") as fh:
    json.dump(out, fh, indent=1, default=str)
sys.stdout.flush()
os._exit(0)
"""


def child_script(body: str) -> str:
    """The complete child script around a test's `body` (see the module docstring)."""
    return _PROLOGUE + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + _EPILOGUE


def run_script(tmp: Path, source: str, name: str, argv: list[str], result: Path, timeout: int = 180,
               env: dict[str, str] | None = None, cwd: Path | None = None, detail=lambda: "") -> dict:
    """Write a complete child script to tmp/NAME.py, run it with `argv` under `timeout`, and return the dict
    it wrote to `result`; fails the test when the child died or reported an "error" (plus `detail()`)."""
    script = tmp / f"{name}.py"
    script.write_text(source)
    proc = subprocess.run(["timeout", str(timeout), sys.executable, str(script), *argv], capture_output=True,
                          text=True, env=env, cwd=cwd)
    assert result.is_file(), f"bpy child died (rc {proc.returncode}): {proc.stderr[-3000:]}"
    res = json.loads(result.read_text())
    assert "error" not in res, res["error"] + detail()
    return res


def run_bpy_child(tmp: Path, body: str, name: str, *args: str, timeout: int = 180) -> dict:
    """Run `child_script(body)` as ``MODE REPO ARGS... RESULT`` and return the dict it wrote."""
    result = tmp / f"{name}_{args[0]}.json"
    return run_script(tmp, child_script(body), name, [args[0], str(REPO), *args[1:], str(result)], result,
                      timeout=timeout)


def run_blender(tmp: Path, module: str, function: str, *args: str, timeout: int = 180,
                env: dict[str, str] | None = None, cwd: Path | None = None, python: str | None = None) -> dict:
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
    assert "error" not in res, res["error"]
    return res


def posebake(*args: str | Path, timeout: int = 500) -> subprocess.CompletedProcess:
    """The `posebake` CLI in a subprocess (two torch threads: the CI machine has two cores)."""
    return subprocess.run(["timeout", str(timeout), *POSEBAKE, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})


RIG_CHILD = r'''
import bpy
import rigbuilder
preset, path, seed, legless = sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] == "legless"
bpy.ops.wm.read_factory_settings(use_empty=True)
rig = rigbuilder.build_rig(preset, pose="A", seed=seed)
if legless:  # too few mappable bones
    rigbuilder.remove_legs(rig)
bpy.ops.wm.save_as_mainfile(filepath=path)
'''


def build_rig_blend(tmp: Path, preset: str, out: Path, seed: int, legless: bool = False) -> Path:
    """Save a test rig (tests/rigbuilder.py, A pose) as a .blend from a bpy child; returns `out`."""
    run_bpy_child(tmp, RIG_CHILD, f"rig_child_{out.stem}", "rig", preset, str(out), str(seed),
                  "legless" if legless else "full")
    return out
