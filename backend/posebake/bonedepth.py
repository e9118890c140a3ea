"""Root depth from bone lengths: the depth at which the 2D bones, lifted onto their viewing rays, are as long
as the skeleton's bones.

Why: the MeTRAbs-style solve (rootsolve.py) fits the network's whole root-relative 3D layout to the 2D
landmarks, so it trusts that layout in all three axes. BlazePose's metric skeleton is laid out wider than its
own image landmarks (wider hips, higher shoulders) and more upright than the body under a tilted camera, and
a skeleton that spreads wider than the image is placed too far away. What the 2D landmarks measure directly
is where each joint lies in the image; what the skeleton knows best is how long its bones are - after
`--subject-height`, exactly as long as the subject's. So here the image fixes the layout across the view and
the skeleton only the bone lengths and each joint's depth relative to the root: joint j sits on its viewing
ray r_j = K^-1 (u_j, 1) at depth z + X_jz, and the root depth z is the one at which the long bones come out
their length,

    z* = argmin_z  sum_b ( |r_a (z + X_az) - r_b (z + X_bz)| / L_b - 1 )^2 .

The bones are the thighs, shins and the torso's sides: the segments the subject's height calibrates, long
enough for a few pixels of landmark noise not to matter, and seen in almost every frame. The hip and
shoulder widths are left out because they are what the network's 3D gets wrong; the arms because they are
often occluded or folded, and the head because it is short.

Measured (bench/results/scale_camera.md and multiview_root.md): with the true height this took the rendered
clips' root error from 4.3 to 2.8 % of the camera distance (median of clips) and the real four-camera lab
clip's from 2.9 to 2.2 % (mean of the views); without a height, 8.6 to 6.9 % and 3.8 to 2.7 %.

The root moves along the viewing ray of the joint solve's root, so it still projects where it did; frames
with fewer than MIN_BONES measurable bones, or whose best depth lies at the edge of the search, keep the
joint solve's depth.
"""
from __future__ import annotations

import warnings

import numpy as np

from .rootsolve import good_joint_mask
from posebake_core.skeleton import JOINT_INDEX

DEPTH_BONES: tuple[tuple[str, str], ...] = (
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"),
)
MIN_BONES = 3
#: Depths searched, as factors of the joint solve's depth (log-spaced grid, then a parabola through the best).
SEARCH_RANGE = (0.6, 1.6)
SEARCH_STEPS = 161
CHUNK = 2048  # frames per grid evaluation
_IDX = np.array([(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in DEPTH_BONES], dtype=np.intp)


def bone_depth_factor(X: np.ndarray, u: np.ndarray, w: np.ndarray, K: np.ndarray,
                      image_size: tuple[int, int], t: np.ndarray) -> np.ndarray:
    """(T,) factor by which to scale each frame's root translation t (T,3) so that the long bones, lifted
    onto their rays, have the track's median lengths; 1.0 where that cannot be measured.

    X: (T,J,3) root-relative metric joints (OpenCV camera axes); u: (T,J,2) pixels; w: (T,J) visibility.
    """
    X = np.asarray(X, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    a, b = _IDX[:, 0], _IDX[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bone stays NaN and is not used
        length = np.nanmedian(np.linalg.norm(X[:, b] - X[:, a], axis=-1), axis=0)  # (B,)
    good = good_joint_mask(u, w, image_size) & np.isfinite(X).all(axis=-1)
    usable = good[:, a] & good[:, b] & (np.isfinite(length) & (length > 1e-6))[None]  # (T,B)
    tz = t[:, 2]
    frames = (usable.sum(axis=1) >= MIN_BONES) & np.isfinite(tz) & (tz > 0)
    factor = np.ones(len(t))
    if not frames.any():
        return factor

    Kinv = np.linalg.inv(np.asarray(K, dtype=np.float64))
    uu = np.where(good[..., None], u, 0.0)[frames]
    rays = np.concatenate([uu, np.ones(uu.shape[:2] + (1,))], axis=-1) @ Kinv.T  # (F,J,3), z = 1
    Xz = np.where(good, X[..., 2], 0.0)[frames]
    # bone vector at root depth z: z (r_a - r_b) + (r_a X_az - r_b X_bz) = z p + q
    p = rays[:, a] - rays[:, b]
    q = rays[:, a] * Xz[:, a, None] - rays[:, b] * Xz[:, b, None]
    pp, pq, qq = (p * p).sum(-1), (p * q).sum(-1), (q * q).sum(-1)  # (F,B)
    use, tzf = usable[frames], tz[frames]
    f_frames = np.empty(len(pp))
    for c in range(0, len(pp), CHUNK):  # bounded memory on hour-long tracks: (CHUNK, steps, bones) floats
        sl = slice(c, c + CHUNK)
        f_frames[sl] = _best_factor(pp[sl], pq[sl], qq[sl], use[sl], tzf[sl], length)
    factor[frames] = f_frames
    return factor


def _best_factor(pp: np.ndarray, pq: np.ndarray, qq: np.ndarray, use: np.ndarray, tz: np.ndarray,
                 length: np.ndarray) -> np.ndarray:
    """(F,) depth factor minimising the bones' relative length error; |z p + q|^2 = pp z^2 + 2 pq z + qq."""
    grid = np.exp(np.linspace(np.log(SEARCH_RANGE[0]), np.log(SEARCH_RANGE[1]), SEARCH_STEPS))
    z = tz[:, None] * grid[None]  # (F,S)
    seen = np.sqrt(np.maximum(pp[:, None] * z[..., None] ** 2 + 2 * pq[:, None] * z[..., None]
                              + qq[:, None], 0.0))  # (F,S,B)
    m = use[:, None, :]
    cost = np.where(m, (seen / np.where(m, length[None, None], 1.0) - 1.0) ** 2, 0.0).sum(-1)  # (F,S)
    best = np.argmin(cost, axis=1)
    inner = (best > 0) & (best < SEARCH_STEPS - 1)
    k = np.clip(best, 1, SEARCH_STEPS - 2)
    rows = np.arange(len(k))
    c0, c1, c2 = cost[rows, k - 1], cost[rows, k], cost[rows, k + 1]
    curvature = c0 - 2 * c1 + c2
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = np.where(curvature > 0, 0.5 * (c0 - c2) / curvature, 0.0)  # parabola vertex, in steps
    step = np.log(grid[1] / grid[0])
    return np.where(inner, grid[k] * np.exp(np.clip(offset, -1, 1) * step), 1.0)


def refine_root_depth(X: np.ndarray, u: np.ndarray, w: np.ndarray, K: np.ndarray,
                      image_size: tuple[int, int], t: np.ndarray) -> np.ndarray:
    """Root translations t (T,3) moved along their viewing rays to the bone-length depth (NaN rows stay)."""
    return np.asarray(t, dtype=np.float64) * bone_depth_factor(X, u, w, K, image_size, t)[:, None]
