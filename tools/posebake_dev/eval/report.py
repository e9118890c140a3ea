"""Score a Motion file against a ground-truth clip (`posebake eval`, `bench/accuracy.py`).

Ground truth comes from bench/groundtruth (schema "posebake.groundtruth/1"): the rendered character's
joint centres in OpenCV camera axes, K, the camera pose per frame and the frame rate. The Motion's frames
are aligned to the GT by `frame_start`; with several tracks, the one whose root projects closest to the
GT root is scored (the rendered clips hold one person, but a false track must not be scored by accident).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from . import metrics
from .joints import EVAL_BONES, EVAL_JOINTS, FEET, gt_joints, gt_up, mid_hip, pred_joints

GT_SCHEMA = "posebake.groundtruth/1"


def load_groundtruth(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            gt = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise PoseBakeError(f"cannot read ground truth {path}: {exc}") from exc
    if str(gt.get("schema", "")) != GT_SCHEMA:
        raise PoseBakeError(f"{path} is not a PoseBake ground-truth file (schema {gt.get('schema')!r}, "
                            f"expected {GT_SCHEMA!r})")
    return gt


def _pick_track(motion: Motion, gt_cam: np.ndarray, frames: slice) -> int:
    gt_root = mid_hip(gt_cam)
    best, best_d = 0, np.inf
    for p in range(motion.num_tracks):
        root = mid_hip(pred_joints(motion.joints_cam[p, frames]))
        d = np.linalg.norm(root - gt_root, axis=-1)
        score = np.nanmean(d) if np.isfinite(d).any() else np.inf
        if score < best_d:
            best, best_d = p, score
    return best


def evaluate(motion: Motion, gt: dict[str, np.ndarray]) -> dict[str, float]:
    """All metrics of `posebake_dev.eval.metrics` for the best-matching track, as a flat dict."""
    T_gt = len(gt["joints_cam"])
    start = motion.frame_start
    if start >= T_gt:
        raise PoseBakeError(f"the motion starts at frame {start}, after the ground truth ends ({T_gt} frames)")
    n = min(motion.num_frames, T_gt - start)
    g = gt_joints(gt)[start:start + n]
    track = _pick_track(motion, g, slice(0, n))
    p = pred_joints(motion.joints_cam[track, :n].astype(np.float64))
    pr, gr = mid_hip(p), mid_hip(g)
    root_mm, root_pct = metrics.root_error(pr, gr)
    fps = float(gt["fps"])
    return {
        "frames": float(n),
        "track": float(track),
        "detection_rate": metrics.detection_rate(p),
        "mpjpe_mm": metrics.mpjpe(p, g, pr, gr),
        "pa_mpjpe_mm": metrics.pa_mpjpe(p, g),
        "root_error_mm": root_mm,
        "root_error_pct": root_pct,
        "accel_error_mm": metrics.accel_error(p, g, pr, gr),
        "bone_cv": metrics.bone_length_cv(p, EVAL_BONES),
        "foot_skate_cm": metrics.foot_skate(p[:, list(FEET)], g[:, list(FEET)], gt_up(gt)[start:start + n], fps),
        "gt_camera_distance_m": float(np.mean(np.linalg.norm(gr, axis=-1))),
    }


def joint_offsets(motion: Motion, gt: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mean root-relative offset (pred - GT, metres, camera axes) per scored joint: the systematic
    difference between anatomical landmarks and skeleton joint centres, reported rather than hidden."""
    n = min(motion.num_frames, len(gt["joints_cam"]) - motion.frame_start)
    g = gt_joints(gt)[motion.frame_start:motion.frame_start + n]
    p = pred_joints(motion.joints_cam[_pick_track(motion, g, slice(0, n)), :n].astype(np.float64))
    d = (p - mid_hip(p)[:, None]) - (g - mid_hip(g)[:, None])
    return {name: np.nanmean(d[:, j], axis=0) for j, name in enumerate(EVAL_JOINTS)}
