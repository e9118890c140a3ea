"""`bench/gpu.sh --dry-run` (issue #21): the GPU proof's one command runs here on the CPU, every step of it
(imports, models, the CUDA tests in their CPU form, the speed table), so it is ready when a GPU is lent."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_gpu_script_dry_run_writes_its_table(tmp_path: Path, model_files: Path, data_dir: Path) -> None:
    out = tmp_path / "gpu.md"
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(REPO / "bench" / "gpu.sh"), "--dry-run", "--out", str(out)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "4 passed" in proc.stdout  # the CUDA tests ran (on the CPU)
    text = out.read_text()
    assert text.startswith("# GPU speed (dry run")
    for row in ("| pose_landmark_full | batch 2 |", "| hand_landmark_full | batch 2 |", "| estimate ",
                "| SmoothNet", "| lifter"):
        assert row in text, row
    bad = subprocess.run(["bash", str(REPO / "bench" / "gpu.sh"), "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown argument --bogus" in bad.stderr
