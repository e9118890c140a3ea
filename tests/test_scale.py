"""Subject height: the anthropometric height of a skeleton, and `--subject-height` fixing the scale."""
from __future__ import annotations

import numpy as np
import pytest

from posebake.estimate import EstimateOptions
from posebake.scale import height_scale, standing_height
from posebake_core.skeleton import JOINT_INDEX as J, standing_pose


def test_standing_height_follows_bone_lengths():
    X = np.repeat(standing_pose()[None], 5, axis=0)
    h = standing_height(X)
    assert 1.3 < h < 2.1
    assert standing_height(X * 1.1) == pytest.approx(1.1 * h)
    crouch = X.copy()
    crouch[3:, J["left_knee"]] += [0.0, 0.0, 0.3]  # a bent knee in a minority of frames leaves the medians
    assert standing_height(crouch) == pytest.approx(h, rel=0.05)
    assert height_scale(X, 2 * h) == pytest.approx(2.0)


def test_true_height_puts_the_rendered_character_at_the_true_depth(model_files):
    """walk_side, 1.567 m character, true focal: given the true height, the root's median depth is within 2 %
    of the ground truth (with the chain ending at the shoulders instead of the eyes it was 3 % too far);
    without it, the network's average-adult prior reads an adult height."""
    from pathlib import Path

    from posebake.estimate import Estimator
    from posebake_dev.eval.joints import gt_joints, mid_hip

    clips = Path(__file__).resolve().parents[1] / "bench" / "groundtruth" / "clips"
    gt = np.load(clips / "walk_side_gt.npz")
    est = Estimator("cpu")
    m = est.run(clips / "walk_side.mp4", EstimateOptions(focal=float(gt["K"][0, 0]), max_people=1, end=45, smooth="none"))
    X = m.joints_cam[0].astype(float)
    X -= 0.5 * (X[:, 23:24] + X[:, 24:25])
    assert 1.5 < standing_height(X) < 1.85

    true_h = float(gt["subject_height"])
    given = est.run(clips / "walk_side.mp4", EstimateOptions(focal=float(gt["K"][0, 0]), max_people=1, end=45,
                                                              smooth="none", subject_height=true_h))
    root = 0.5 * (given.joints_cam[0, :, 23] + given.joints_cam[0, :, 24])
    true_root = mid_hip(gt_joints(gt))[given.frame_start:given.frame_start + len(root)]
    assert np.nanmedian(root[:, 2] / true_root[:, 2]) == pytest.approx(1.0, abs=0.02)

    tall = est.run(clips / "walk_side.mp4", EstimateOptions(focal=float(gt["K"][0, 0]), max_people=1,
                                                             subject_height=1.9, end=30, smooth="none"))
    Xt = tall.joints_cam[0].astype(float)
    Xt -= 0.5 * (Xt[:, 23:24] + Xt[:, 24:25])
    assert standing_height(Xt) == pytest.approx(1.9, rel=1e-3)
    assert tall.subject_height[0] == 1.9 and np.isnan(m.subject_height[0])
    # Taller at the same image size means farther away, in proportion.
    depth = lambda M: np.nanmedian(0.5 * (M.joints_cam[0, :30, 23, 2] + M.joints_cam[0, :30, 24, 2]))  # noqa: E731
    assert depth(tall) / depth(m) == pytest.approx(1.9 / standing_height(X), rel=0.03)
