"""Absolute metric 3D from root-relative 3D + 2D landmarks + K (the MeTRAbs-style root solve).

A landmark network gives two things per frame: metric 3D joints relative to the mid-hip root, X (J,3),
and 2D pixel positions u (J,2). With intrinsics K the only unknown left is the root's camera-space
translation t. For each joint, the pinhole model K(X_j + t) ~ u_j gives two equations that are *linear*
in t once written in normalised image coordinates (x, y, 1) = K^-1 (u, 1):

    (X_jx + t_x) - x_j (X_jz + t_z) = 0      ->   t_x - x_j t_z = x_j X_jz - X_jx
    (X_jy + t_y) - y_j (X_jz + t_z) = 0      ->   t_y - y_j t_z = y_j X_jz - X_jy

so a weighted linear least-squares problem in 3 unknowns per frame, solved for all frames at once through
the 3x3 normal equations. Joints near the image border are dropped: detectors clamp off-screen landmarks
onto the border, and one such joint would pull the whole body towards the edge (truncation robustness).
"""
from __future__ import annotations

import warnings

import numpy as np

from posebake_core.skeleton import BONE_INDICES

DEFAULT_BORDER_PX = 3.0
DEFAULT_MIN_VISIBILITY = 0.5
DEFAULT_MIN_JOINTS = 4


def good_joint_mask(u: np.ndarray, w: np.ndarray, image_size: tuple[int, int],
                    border_px: float = DEFAULT_BORDER_PX,
                    min_visibility: float = DEFAULT_MIN_VISIBILITY) -> np.ndarray:
    """(T,J) bool: finite, visible enough, and at least `border_px` inside the image."""
    width, height = image_size
    finite = np.isfinite(u).all(axis=-1) & np.isfinite(w)
    with np.errstate(invalid="ignore"):
        inside = ((u[..., 0] >= border_px) & (u[..., 0] <= width - 1 - border_px)
                  & (u[..., 1] >= border_px) & (u[..., 1] <= height - 1 - border_px))
        visible = w >= min_visibility
    return finite & inside & visible


def solve_root_translation(X: np.ndarray, u: np.ndarray, w: np.ndarray, K: np.ndarray,
                           image_size: tuple[int, int], border_px: float = DEFAULT_BORDER_PX,
                           min_visibility: float = DEFAULT_MIN_VISIBILITY,
                           min_joints: int = DEFAULT_MIN_JOINTS, robust_iters: int = 2,
                           robust_px: float = 15.0) -> np.ndarray:
    """Root translation t (T,3) in metres, NaN for frames with fewer than `min_joints` good joints.

    X: (T,J,3) root-relative metric joints (OpenCV camera axes); u: (T,J,2) pixels; w: (T,J) weights
    (visibility/presence in [0,1]); K: (3,3); image_size: (width, height).

    After the plain weighted solve, `robust_iters` rounds of Cauchy-style reweighting on the pixel
    reprojection error (scale `robust_px`) damp single bad landmarks (a wrist swapped with the other
    one, a foot snapped onto the ground line) that a squared loss would let drag the root.
    """
    X = np.asarray(X, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    T, J = X.shape[:2]
    if X.shape != (T, J, 3) or u.shape != (T, J, 2) or w.shape != (T, J):
        raise ValueError(f"shape mismatch: X {X.shape}, u {u.shape}, w {w.shape}")
    good = good_joint_mask(u, w, image_size, border_px, min_visibility) & np.isfinite(X).all(axis=-1)
    weight = np.where(good, w, 0.0)
    Xs = np.where(good[..., None], X, 0.0)
    us = np.where(good[..., None], u, 0.0)

    # normalised image coordinates: handles any K (skew, non-square pixels), not only fx=fy
    Kinv = np.linalg.inv(K)
    homog = np.concatenate([us, np.ones((T, J, 1))], axis=-1) @ Kinv.T
    xy = homog[..., :2] / homog[..., 2:3]

    t = _weighted_solve(Xs, xy, weight)
    for _ in range(robust_iters):
        err = _reprojection_px(Xs, us, t, K)
        robust = 1.0 / (1.0 + (err / robust_px) ** 2)
        t = _weighted_solve(Xs, xy, weight * np.nan_to_num(robust, nan=0.0))

    enough = good.sum(axis=1) >= max(min_joints, 2)
    t[~enough] = np.nan
    t[np.isfinite(t).all(axis=1) & (t[:, 2] <= 0)] = np.nan  # behind the camera: no valid solution
    return t


def _weighted_solve(X: np.ndarray, xy: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-frame weighted least squares for t; rows of A are (1,0,-x) and (0,1,-y)."""
    T, J = weight.shape
    A = np.zeros((T, J, 2, 3))
    A[..., 0, 0] = 1.0
    A[..., 1, 1] = 1.0
    A[..., 0, 2] = -xy[..., 0]
    A[..., 1, 2] = -xy[..., 1]
    b = xy * X[..., 2:3] - X[..., :2]  # (T,J,2)
    Aw = A * weight[..., None, None]
    AtA = np.einsum("tjki,tjkl->til", Aw, A)
    Atb = np.einsum("tjki,tjk->ti", Aw, b)
    # frames with no usable joints have AtA = 0; regularise them so solve() succeeds, then mark NaN
    singular = np.abs(np.linalg.det(AtA)) < 1e-12
    AtA[singular] = np.eye(3)
    t = np.linalg.solve(AtA, Atb[..., None])[..., 0]
    t[singular] = np.nan
    return t


def _reprojection_px(X: np.ndarray, u: np.ndarray, t: np.ndarray, K: np.ndarray) -> np.ndarray:
    P = (X + t[:, None, :]) @ K.T
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = P[..., :2] / P[..., 2:3]
    return np.linalg.norm(proj - u, axis=-1)


def bone_lengths(X: np.ndarray, bones: tuple[tuple[int, int], ...] = BONE_INDICES) -> np.ndarray:
    """(..., B) lengths of `bones` (index pairs) for joints X (..., J, 3); NaN where a joint is NaN."""
    idx = np.asarray(bones, dtype=np.intp)
    return np.linalg.norm(X[..., idx[:, 1], :] - X[..., idx[:, 0], :], axis=-1)


def consistent_scale(X_track: np.ndarray, bones: tuple[tuple[int, int], ...] = BONE_INDICES,
                     reference_lengths: np.ndarray | None = None) -> np.ndarray:
    """Rescale each frame's root-relative skeleton (T,J,3) to the track's median bone lengths.

    Why: a monocular network guesses the person's absolute size anew in every frame, and that guess
    jitters by a few percent. In the root solve, size and depth are tied (a skeleton s times too big is
    placed s times farther away), so per-frame size jitter becomes depth jitter of tens of centimetres
    and bone lengths that breathe, which a rig cannot follow. A person's size does not change within a
    track, so one size per track - the median over frames, robust to the odd bad frame - is both more
    plausible and more accurate. Each frame gets a single least-squares factor s_t = <l_t, L> / <l_t, l_t>
    (l_t its bone lengths, L the reference), so only size changes, never the pose's proportions.

    `reference_lengths` (B,) overrides the median, e.g. lengths derived from a known subject height.
    Frames with no measurable bone stay unchanged. Scaling is about the root (X is root-relative).
    """
    X = np.asarray(X_track, dtype=np.float64)
    lengths = bone_lengths(X, bones)  # (T,B)
    if reference_lengths is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bones give NaN, which we handle
            ref = np.nanmedian(lengths, axis=0)
    else:
        ref = np.asarray(reference_lengths, dtype=np.float64)
    usable = np.isfinite(lengths) & np.isfinite(ref)[None, :]
    l = np.where(usable, lengths, 0.0)
    r = np.where(usable, ref[None, :], 0.0)
    num = (l * r).sum(axis=1)
    den = (l * l).sum(axis=1)
    scale = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 1.0)
    return X * scale[:, None, None]
