"""`posebake eval` on the committed ground-truth set: real estimation, real metrics, clear errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posebake_core.errors import PoseBakeError
from posebake_dev.eval.report import evaluate, load_groundtruth
from posebake_core.motion import Motion

CLIPS = Path(__file__).resolve().parents[1] / "bench" / "groundtruth" / "clips"


@pytest.fixture(scope="module")
def walk(model_files, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("eval") / "walk.npz"
    gt = CLIPS / "walk_side_gt.npz"
    focal = float(load_groundtruth(gt)["K"][0, 0])
    res = subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(CLIPS / "walk_side.mp4"), "-o", str(out),
                          "--focal", str(focal), "--quiet", "--device", "cpu"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return out, gt


def test_eval_cli_reports_plausible_accuracy(walk):
    motion, gt = walk
    res = subprocess.run([sys.executable, "-m", "posebake.cli", "eval", str(motion), str(gt), "--json"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert r["detection_rate"] > 0.8
    assert 20 < r["mpjpe_mm"] < 200 and r["pa_mpjpe_mm"] < r["mpjpe_mm"]  # real errors, not zero, not absurd
    assert r["root_error_pct"] < 15  # with the true focal length
    assert 0 < r["bone_cv"] < 0.15


def test_eval_detects_a_wrong_pairing(walk):
    """Scoring against another clip's ground truth must look bad: the metric sees the data."""
    motion, gt = walk
    right = evaluate(Motion.load(motion), load_groundtruth(gt))
    wrong = evaluate(Motion.load(motion), load_groundtruth(CLIPS / "hop_elevated_gt.npz"))
    assert wrong["root_error_mm"] > 3 * right["root_error_mm"]


def test_eval_rejects_non_groundtruth(walk, tmp_path):
    motion, _ = walk
    with pytest.raises(PoseBakeError, match="not a PoseBake ground-truth file"):
        load_groundtruth(motion)
    bad = tmp_path / "x_gt.npz"
    np.savez(bad, schema=np.array("something/9"))
    with pytest.raises(PoseBakeError, match="schema"):
        load_groundtruth(bad)
