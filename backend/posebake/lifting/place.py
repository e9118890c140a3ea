"""The lifter as a pipeline stage: every track of a Motion gets joint centres, placed where its body is.

The lifter answers root-relative, at the size of the people it learned from; the rest of the Motion (the
BlazePose joints the root solve placed, with `--subject-height` applied) has its own metric size, and the
root solve's depth follows from that size. So each track's centres are scaled to the same size (the ratio
of the two skeletons' summed limb lengths, medians over the track) and put with the middle of their hip
joints on the BlazePose mid-hip: the two skeletons then agree on where the body is and how big it is, and
the root position error stays the root solve's.
"""
from __future__ import annotations

import numpy as np

from .lift import lift_track
from posebake_core.motion import Motion
from posebake_core.skeleton import CENTRE_JOINTS, JOINT_INDEX

#: Limb segments both skeletons have (BlazePose landmark names = joint-centre names for these).
_LIMBS = tuple((a, b) for s in ("left", "right") for a, b in (
    (f"{s}_shoulder", f"{s}_elbow"), (f"{s}_elbow", f"{s}_wrist"), (f"{s}_hip", f"{s}_knee"),
    (f"{s}_knee", f"{s}_ankle")))
_C = {n: i for i, n in enumerate(CENTRE_JOINTS)}


def limb_sum(joints: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """(T,) summed length of the `_LIMBS` segments per frame."""
    return sum(np.linalg.norm(joints[:, index[a]] - joints[:, index[b]], axis=-1) for a, b in _LIMBS)


def lift_motion(motion: Motion, device: str = "cpu", flip: bool = True) -> np.ndarray:
    """(P, T, len(CENTRE_JOINTS), 3) joint centres in camera axes for every track (NaN where absent)."""
    out = np.full(motion.joints_cam.shape[:2] + (len(CENTRE_JOINTS), 3), np.nan, np.float32)
    hips_bp = [JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]
    hips_c = [_C["left_hip"], _C["right_hip"]]
    for p in range(motion.num_tracks):
        present = np.isfinite(motion.joints_cam[p]).all(axis=-1).all(axis=-1)
        if present.sum() < 2:
            continue
        first, last = np.flatnonzero(present)[[0, -1]]
        span = slice(first, last + 1)
        uv = np.where(present[span, None, None], motion.joints_2d[p, span], np.nan)
        centres = lift_track(uv, motion.visibility[p, span], motion.K, flip=flip, device=device,
                             fps=motion.fps).astype(np.float64)
        bp = motion.joints_cam[p, span].astype(np.float64)
        ok = present[span]
        scale = np.median(limb_sum(bp[ok], JOINT_INDEX)) / np.median(limb_sum(centres[ok], _C))
        placed = centres * scale
        placed += (bp[:, hips_bp].mean(axis=1) - placed[:, hips_c].mean(axis=1))[:, None]
        placed[~ok] = np.nan  # a frame the tracker lost stays absent, as in joints_cam
        out[p, span] = placed
    return out
