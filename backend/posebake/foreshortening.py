"""Pull the root solve's depth in with the foreshortening limit: a bone never looks longer than it is.

Why: the MeTRAbs-style root solve (rootsolve.py) trusts the network's root-relative 3D shape, and
BlazePose's shape is flatter than the real body - limbs that point towards or away from the camera come
out closer to parallel to the image plane, and under a tilted camera the whole body comes out too
upright. A flat skeleton spreads wider across the image than the real one at the same depth, so the
solve pushes it away: on the rendered ground-truth clips the root landed 3-18 % of the camera distance
too far on every clip, with the correct subject height and focal length (bench/results/scale_camera.md).

What does hold, whatever the pose: a bone of length L whose middle lies at depth Z projects to at most
L / Z in normalised image units, with equality only when it lies parallel to the image plane. So every
visible bone bounds the depth from above, Z <= L / l, and the tightest bound in a frame comes from the
bone most nearly parallel to the image plane (in most frames some bone nearly is). Lengths come from the
track's skeleton, so they are the subject's when --subject-height is given and the network's adult
prior otherwise.

The correction is one factor per track: the median over frames of min(1, bound / solved depth). One
factor, because the flattening is systematic for a camera and a subject, while the per-frame bound
carries the 2D landmarks' noise; the median, because one frame with a mislocated wrist must not move a
whole track. The factor only ever brings a track closer (it is an upper bound), and it scales the root
along its viewing ray, so the root still projects where it did.
"""
from __future__ import annotations

import numpy as np

from .rootsolve import good_joint_mask
from .skeleton import JOINT_INDEX

#: The long bones whose 2D length is measured well: torso sides and widths, upper and lower limbs.
#: Hands, feet and face are left out - a few pixels of landmark noise is a large part of their length.
LIMIT_BONES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
)
_IDX = np.array([(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in LIMIT_BONES], dtype=np.intp)


def depth_limit(X: np.ndarray, u: np.ndarray, w: np.ndarray, K: np.ndarray,
                image_size: tuple[int, int]) -> np.ndarray:
    """(T,) farthest root depth (m) at which no visible long bone would project longer than its length;
    +inf in frames with no measurable bone.

    X: (T,J,3) root-relative metric joints; u: (T,J,2) pixels; w: (T,J) visibility; K: (3,3).
    Bone lengths are the track's medians (one body per track). A bone's middle sits at the root depth
    plus its own root-relative depth, so the bound is returned for the root.
    """
    X = np.asarray(X, dtype=np.float64)
    a, b = _IDX[:, 0], _IDX[:, 1]
    with np.errstate(invalid="ignore"):
        length = np.nanmedian(np.linalg.norm(X[:, b] - X[:, a], axis=-1), axis=0)  # (B,)
    xy = (np.asarray(u, dtype=np.float64) - K[:2, 2]) / np.array([K[0, 0], K[1, 1]])
    seen = np.linalg.norm(xy[:, b] - xy[:, a], axis=-1)  # (T,B) normalised image units
    good = good_joint_mask(u, w, image_size)
    usable = good[:, a] & good[:, b] & np.isfinite(length)[None] & (seen > 1e-6)
    mid_z = 0.5 * (X[:, a, 2] + X[:, b, 2])
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = np.where(usable, length[None] / np.where(usable, seen, 1.0) - mid_z, np.inf)
    return bound.min(axis=1)


def depth_factor(t: np.ndarray, limit: np.ndarray) -> float:
    """One factor <= 1 for a track's root translations t (T,3): the median over frames where both are
    known of min(1, limit / t_z). 1.0 when no frame can be measured."""
    tz = np.asarray(t, dtype=np.float64)[:, 2]
    ok = np.isfinite(tz) & (tz > 0) & np.isfinite(limit)
    if not ok.any():
        return 1.0
    return float(np.median(np.minimum(1.0, limit[ok] / tz[ok])))


def limit_depth(X: np.ndarray, u: np.ndarray, w: np.ndarray, K: np.ndarray, image_size: tuple[int, int],
                t: np.ndarray) -> tuple[np.ndarray, float]:
    """Root translations t (T,3) of one track moved along their viewing rays by `depth_factor`;
    returns (new t, factor)."""
    factor = depth_factor(t, depth_limit(X, u, w, np.asarray(K, dtype=np.float64), image_size))
    return np.asarray(t, dtype=np.float64) * factor, factor
