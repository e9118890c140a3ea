"""The PoseBake wheel and the add-on's "Install backend" (issue #20, items 2 and 3).

One locally built wheel (`python -m build` on a copy of the sources, so the checkout gets no build/ or
egg-info) is installed by the operator, run headless in pip bpy, into a fresh environment of its own; that
environment then runs `posebake models info` and `posebake estimate` on a real clip. A damaged wheel and a
machine without a package index must fail with the log's path and leave no environment behind or selected.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from posebake_core.motion import Motion
from tests.bpychild import run_blender

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.bpy, pytest.mark.slow]


def torch_requirement() -> str:
    """The torch the CI constraints pin (pip takes it from this machine's disk on Python 3.11)."""
    for line in (REPO / "constraints" / "ci.txt").read_text().splitlines():
        if line.startswith("torch=="):
            return line.strip()
    raise AssertionError("constraints/ci.txt pins no torch")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for d in ("backend", "core", "tools", "addon"):
        shutil.copytree(REPO / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / f, src / f)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (whl,) = out.glob("posebake-*-py3-none-any.whl")
    return whl


def test_wheel_holds_runtime_core_presets_weights_and_addon_driver(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for must in ("posebake/cli.py", "posebake/data/smoothnet_T32.pt", "posebake/data/lifter_T27.pt",
                 "posebake_core/motion.py", "posebake_core/rigs/mixamo.json", "posebake_core/rigs/rigify.json",
                 "posebake_blender/headless.py", "posebake_blender/blender_manifest.toml"):
        assert must in names, must
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Requires-Python: <3.14,>=3.11" in text or "Requires-Python: >=3.11,<3.14" in text, text[:800]
    entry = zipfile.ZipFile(wheel).read(meta.replace("METADATA", "entry_points.txt")).decode()
    assert "posebake = posebake.cli:main" in entry


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory, model_files: Path) -> dict:
    tmp = tmp_path_factory.mktemp("install")
    broken = tmp / "broken" / wheel.name
    broken.parent.mkdir()
    data = bytearray(wheel.read_bytes())
    data[len(data) // 3: len(data) // 3 + 4096] = b"\0" * 4096  # damage the middle: the zip still opens
    broken.write_bytes(bytes(data))
    empty = tmp / "no_index"
    empty.mkdir()
    python = subprocess.run([str(REPO / "tools" / "find_python.sh"), "3.11"], capture_output=True,
                            text=True).stdout.strip() or sys.executable
    env = {**os.environ, "POSEBAKE_ENVS": str(tmp / "envs")}
    res = run_blender(tmp, "install_backend", "main", str(wheel), str(broken), python, torch_requirement(),
                      str(empty), timeout=1500, env=env)
    res["envs_root"] = str(tmp / "envs")
    return res


def test_damaged_wheel_refused_before_anything_is_built(installed: dict) -> None:
    r = installed["damaged"]
    assert r["result"] == ["CANCELLED"] and "damaged" in r["error"], r
    assert r["python_path"] == installed["before"] and r["envs"] == [], r


def test_no_package_index_fails_with_log_and_leaves_nothing_selected(installed: dict) -> None:
    r = installed["offline"]  # started in the background, as the preferences button does
    assert r["result"] == ["FINISHED"], r
    assert any(st.startswith("Installing (2/5): installing torch") for st in r["statuses"]), r["statuses"]
    assert r["statuses"][-1] == r["error"], r["statuses"]  # the preferences end on the failure message
    assert "installing torch" in r["error"] and "full log:" in r["error"], r["error"]
    assert "network" in r["error"], r["error"]
    assert r["python_path"] == installed["before"] and r["envs"] == [], r  # the half environment is gone
    log = Path(r["error"].split("full log: ")[1].strip())
    assert log.is_file() and "installing torch" in log.read_text()


def test_install_selects_a_verified_environment_outside_blender(installed: dict) -> None:
    r = installed["ok"]
    assert r["result"] == ["FINISHED"], r
    python = Path(r["python_path"])
    assert python.is_file() and python.parents[1].parent == Path(installed["envs_root"]), python
    assert r["envs"] == [python.parents[1].name], r  # only the good one is there
    assert installed["mode"] == "SERVICE" and installed["marker"].startswith("posebake 0.")
    info = subprocess.run([str(python), "-m", "posebake.cli", "models", "info"], capture_output=True, text=True,
                          timeout=300)
    assert info.returncode == 0, info.stdout + info.stderr
    # the environment is its own: PoseBake from the wheel, not this checkout, and no bpy in it
    where = subprocess.run([str(python), "-c", "import posebake, importlib.util as u; print(posebake.__file__); "
                            "print(u.find_spec('bpy') is None)"], capture_output=True, text=True, timeout=120)
    lines = where.stdout.split()
    assert lines[0].startswith(str(python.parents[1])) and lines[1] == "True", where.stdout + where.stderr


def test_installed_wheel_estimates_a_real_clip(installed: dict, videos: Path, tmp_path: Path) -> None:
    python = installed["ok"]["python_path"]
    out = tmp_path / "m.npz"
    proc = subprocess.run([python, "-m", "posebake.cli", "estimate", str(videos / "phalp_running_woman.mp4"),
                           "--end", "12", "-o", str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    motion = Motion.load(out)  # this checkout's reader: the wheel's backend writes the one contract
    assert motion.num_frames == 12 and motion.num_tracks >= 1
    assert np.isfinite(motion.joints_cam[0]).all(axis=-1).mean() > 0.9
