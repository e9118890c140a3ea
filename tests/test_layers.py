"""Layer rules (`.importlinter`): the core imports neither torch nor bpy, the add-on and the runtime never
import each other, nothing imports the dev tools, and no package has an import cycle. `lint-imports` runs
on the real tree; a copy of the tree with a deliberate `import torch` in the core (or a cycle) must fail,
which shows the contracts can fail at all."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
SOURCES = ("core", "backend", "tools", "addon")


def lint(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` over the packages under `root` (they come first on the path, before the install)."""
    if not LINT.is_file():
        pytest.fail(f"lint-imports is not installed beside {sys.executable} (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(root / d) for d in SOURCES)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(root / ".importlinter")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def copy_tree(dst: Path) -> Path:
    for d in SOURCES:
        shutil.copytree(REPO / d, dst / d, ignore=shutil.ignore_patterns("__pycache__", "rigs_data", "*.pt"))
    shutil.copy2(REPO / ".importlinter", dst / ".importlinter")
    return dst


def test_layer_contracts_hold() -> None:
    proc = lint(REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "4 kept, 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_import_torch_in_the_core_breaks_them(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    target = root / "core" / "posebake_core" / "timeseries.py"
    target.write_text(target.read_text() + "\nimport torch  # noqa: E402,F401 - deliberately breaks the layer rule\n")
    proc = lint(root)
    assert proc.returncode != 0
    assert "The core imports neither torch nor bpy" in proc.stdout and "BROKEN" in proc.stdout
    assert "posebake_core.timeseries -> torch" in proc.stdout, proc.stdout[-3000:]


def test_a_cycle_breaks_them(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    target = root / "core" / "posebake_core" / "rot.py"  # the solver imports rot; now rot imports the solver
    target.write_text(target.read_text() + "\n\ndef _late() -> None:\n    from .retarget import solve  # noqa: F401\n")
    proc = lint(root)
    assert proc.returncode != 0 and "No import cycles anywhere BROKEN" in proc.stdout.replace("\n", " "), \
        proc.stdout[-3000:]
