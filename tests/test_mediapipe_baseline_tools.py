"""Cheap checks of the MediaPipe baseline tooling; no MediaPipe venv needed.

The baseline numbers are only as good as the jitter formula and the landmark
contract, so those are tested here against hand-computable inputs.  The
baseline module is loaded by file path because bench/ is not a package and
because loading it must not pull in mediapipe (that import lives in main()).
"""
from __future__ import annotations

import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
BASELINE = BENCH / "mediapipe_baseline.py"
ENV_SCRIPT = BENCH / "mediapipe_env.sh"


def _load_baseline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mediapipe_baseline_under_test", BASELINE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def baseline() -> ModuleType:
    return _load_baseline()


@pytest.mark.parametrize("path", [BASELINE, BENCH / "baseline_all.py"])
def test_bench_scripts_compile(path: Path, tmp_path: Path) -> None:
    py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)


def test_loading_does_not_import_mediapipe_or_torch() -> None:
    """The file must stay importable outside the MediaPipe venv (and never drag in torch)."""
    code = (
        "import importlib.util,sys;"
        f"s=importlib.util.spec_from_file_location('m',{str(BASELINE)!r});"
        "m=importlib.util.module_from_spec(s);s.loader.exec_module(m);"
        "bad=[k for k in ('mediapipe','torch','posebake') if k in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_joint_names_contract(baseline: ModuleType) -> None:
    names = baseline.JOINT_NAMES
    assert len(names) == 33 and len(set(names)) == 33
    assert names[0] == "nose" and names[-1] == "right_foot_index"
    assert names[11:13] == ("left_shoulder", "right_shoulder")
    assert names[23:25] == ("left_hip", "right_hip")
    assert baseline.SCHEMA == "posebake.mediapipe_baseline/1"


def test_jitter_constant_acceleration(baseline: ModuleType) -> None:
    """x(t) = 0.5*a*t^2 has second difference exactly a every frame, for every joint."""
    t = np.arange(20, dtype=np.float64)
    a = np.array([0.003, -0.004, 0.0])  # |a| = 5 mm/frame^2
    world = 0.5 * t[:, None, None] * t[:, None, None] * a[None, None, :] * np.ones((1, 33, 1))
    world += np.random.default_rng(0).normal(size=(1, 33, 3))  # static per-joint offsets cancel
    assert baseline.second_difference_jitter_mm(world) == pytest.approx(5.0, rel=1e-9)


def test_jitter_linear_motion_is_zero(baseline: ModuleType) -> None:
    t = np.arange(10, dtype=np.float64)[:, None, None]
    world = 0.1 + 0.02 * t * np.ones((1, 33, 3))
    assert baseline.second_difference_jitter_mm(world) == pytest.approx(0.0, abs=1e-9)


def test_jitter_skips_triples_touching_missed_frames(baseline: ModuleType) -> None:
    """A lost frame must not count as a jump; only all-detected triples contribute.

    Frames 0-2 alternate +-1 mm on one axis (second differences -4, +4 mm...),
    frame 3 is missing, frames 4-7 hold a big offset but move linearly (zero).
    Valid triples: (0,1,2) -> 4 mm and (4,5,6),(5,6,7) -> 0, so mean = 4/3 mm.
    """
    world = np.zeros((8, 33, 3))
    world[[0, 2], :, 0] = 0.001
    world[1, :, 0] = -0.001
    world[3] = np.nan
    world[4:, :, 1] = 5.0 + 0.01 * np.arange(4)[:, None]
    assert baseline.second_difference_jitter_mm(world) == pytest.approx(4.0 / 3.0, rel=1e-9)


def test_jitter_undefined_without_three_consecutive_detections(baseline: ModuleType) -> None:
    world = np.zeros((5, 33, 3))
    world[[2]] = np.nan
    assert np.isnan(baseline.second_difference_jitter_mm(world))
    assert np.isnan(baseline.second_difference_jitter_mm(np.zeros((2, 33, 3))))
    with pytest.raises(ValueError):
        baseline.second_difference_jitter_mm(np.zeros((5, 33)))


def test_env_script_is_executable_bash() -> None:
    assert ENV_SCRIPT.is_file()
    assert os.access(ENV_SCRIPT, os.X_OK), "bench/mediapipe_env.sh must be chmod +x"
    assert ENV_SCRIPT.read_text().startswith("#!/usr/bin/env bash")
    subprocess.run(["bash", "-n", str(ENV_SCRIPT)], check=True)


def test_env_script_fails_clearly_without_python311(tmp_path: Path) -> None:
    """With no usable python3.11 and no venv yet, it must exit non-zero and say why."""
    env = dict(os.environ, PYTHON311="python3.11-definitely-missing")
    proc = subprocess.run([str(ENV_SCRIPT), str(tmp_path / "venv")], env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "python3.11-definitely-missing not found" in proc.stderr
    assert not (tmp_path / "venv").exists()
