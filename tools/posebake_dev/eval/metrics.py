"""Accuracy metrics against ground-truth 3D joints (pure numpy, NaN-aware).

Inputs are (T, J, 3) arrays in metres in the same axes (normally OpenCV camera axes), joints in the same
order (see `posebake_dev.eval.joints`). A predicted frame counts as *detected* when all its joints are
finite; undetected frames are left out of every error and counted against `detection_rate`. GT frames
are assumed complete. Errors are returned in millimetres (centimetres for foot skate) as plain floats;
NaN is returned when no frame qualifies, so a run with no detections never reports a perfect score.
"""
from __future__ import annotations

import numpy as np


def detected(pred: np.ndarray) -> np.ndarray:
    """(T,) bool: frames where every predicted joint is finite."""
    return np.all(np.isfinite(pred), axis=tuple(range(1, pred.ndim)))


def detection_rate(pred: np.ndarray) -> float:
    """Fraction of frames with a detection (all joints finite), in [0, 1]."""
    return float(detected(pred).mean()) if len(pred) else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


def mpjpe(pred: np.ndarray, gt: np.ndarray, pred_root: np.ndarray, gt_root: np.ndarray) -> float:
    """Root-relative mean per-joint position error, mm.

    Each frame's joints are taken relative to that frame's root (pred minus pred root, GT minus GT
    root), then the Euclidean distance is averaged over all joints of all detected frames. It measures
    the body pose, not where the body is.
    """
    ok = detected(pred) & np.all(np.isfinite(pred_root), axis=1)
    d = np.linalg.norm((pred[ok] - pred_root[ok, None]) - (gt[ok] - gt_root[ok, None]), axis=-1)
    return _mean(d) * 1000.0


def similarity_align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """`src` (J, 3) moved by the similarity (scale s, rotation R, translation t) that best fits `dst`.

    Least squares in closed form (Umeyama 1991): centre both sets, SVD of the cross-covariance, fix a
    reflection with the sign of det, s = trace(S D) / variance(src).
    """
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    U, S, Vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        d[2] = -1.0
    R = U @ np.diag(d) @ Vt
    var = (a ** 2).sum() / len(src)
    s = float((S * d).sum() / var) if var > 0 else 1.0
    return s * a @ R.T + mu_d


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Procrustes-aligned MPJPE, mm: per detected frame, align pred to GT with the best similarity
    transform (scale, rotation, translation; `similarity_align`), then average the joint distances.
    It ignores global position, orientation and size, so only the shape of the pose counts."""
    ok = np.flatnonzero(detected(pred))
    d = [np.linalg.norm(similarity_align(pred[t], gt[t]) - gt[t], axis=-1) for t in ok]
    return _mean(np.array(d)) * 1000.0


def root_error(pred_root: np.ndarray, gt_root: np.ndarray) -> tuple[float, float]:
    """Absolute root position error: (mean distance in mm, mean of distance / GT camera distance in %).

    Both roots are in camera axes, so ``|gt_root|`` is the subject's distance from the camera; the
    relative figure makes near and far clips comparable (depth errors grow with distance).
    """
    ok = np.all(np.isfinite(pred_root), axis=1)
    err = np.linalg.norm(pred_root[ok] - gt_root[ok], axis=1)
    return _mean(err) * 1000.0, _mean(err / np.linalg.norm(gt_root[ok], axis=1)) * 100.0


def accel_error(pred: np.ndarray, gt: np.ndarray, pred_root: np.ndarray, gt_root: np.ndarray) -> float:
    """Acceleration error, mm/frame²: mean over joints and frames of
    ``|(p[t-1] - 2 p[t] + p[t+1]) - (g[t-1] - 2 g[t] + g[t+1])|`` on root-relative joints, using only
    frames t whose neighbours t-1 and t+1 are detected too. It measures jitter (and over-smoothing)."""
    rel_p = pred - pred_root[:, None]
    rel_g = gt - gt_root[:, None]
    ok = detected(pred) & np.all(np.isfinite(pred_root), axis=1)
    mid = ok[1:-1] & ok[:-2] & ok[2:]
    acc_p = rel_p[:-2] - 2 * rel_p[1:-1] + rel_p[2:]
    acc_g = rel_g[:-2] - 2 * rel_g[1:-1] + rel_g[2:]
    return _mean(np.linalg.norm(acc_p[mid] - acc_g[mid], axis=-1)) * 1000.0


def bone_length_cv(joints: np.ndarray, bones: tuple[tuple[int, int], ...]) -> float:
    """Mean over bones of the coefficient of variation (std / mean) of each bone's length across the
    detected frames, as a fraction (0 = perfectly rigid). Real bones do not change length."""
    ok = detected(joints)
    if ok.sum() < 2:
        return float("nan")
    cvs = []
    for a, b in bones:
        length = np.linalg.norm(joints[ok, a] - joints[ok, b], axis=-1)
        cvs.append(length.std() / length.mean())
    return float(np.mean(cvs))


def contact_frames(gt_feet: np.ndarray, up: np.ndarray, fps: float,
                   height_tol: float = 0.03, speed_tol: float = 0.25) -> np.ndarray:
    """(T, F) bool ground contact from the GT feet: the foot is within `height_tol` metres of its own
    lowest height in the clip and moves slower than `speed_tol` m/s (central difference).

    `up` is the world up direction in the same axes, (3,) or per frame (T, 3).
    """
    up = np.broadcast_to(up, (len(gt_feet), 3))
    h = np.einsum("tfk,tk->tf", gt_feet, up)
    low = h - h.min(axis=0, keepdims=True) < height_tol
    vel = np.gradient(gt_feet, axis=0) * fps
    return low & (np.linalg.norm(vel, axis=-1) < speed_tol)


def foot_skate(pred_feet: np.ndarray, gt_feet: np.ndarray, up: np.ndarray, fps: float) -> float:
    """Foot skate, cm/frame: mean horizontal displacement of each predicted foot between consecutive
    frames t, t+1 where the GT foot is in contact (`contact_frames`) at both frames and the prediction
    is detected at both. Horizontal means with the component along `up` removed. A foot planted on
    the ground should not slide, so anything above the GT's own value (near 0) is skating."""
    up = np.broadcast_to(up, (len(gt_feet), 3))
    contact = contact_frames(gt_feet, up, fps)
    ok = np.all(np.isfinite(pred_feet), axis=(1, 2))
    pair = contact[:-1] & contact[1:] & (ok[:-1] & ok[1:])[:, None]
    step = pred_feet[1:] - pred_feet[:-1]
    u = up[:-1, None, :]
    horiz = step - np.sum(step * u, axis=-1, keepdims=True) * u
    return _mean(np.linalg.norm(horiz, axis=-1)[pair]) * 100.0
