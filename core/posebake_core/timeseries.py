"""Time-series helpers over (T, ...) arrays: gap filling, runs of True, Gaussian smoothing.

Shared by the world-frame fit, the foot contacts, the bake options and the BVH export, which used to
carry their own copies.
"""
from __future__ import annotations

import numpy as np


def fill_gaps(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN frames per coordinate, ends held; a coordinate never observed stays
    NaN. Returns a float64 copy of the (T, ...) input."""
    out = np.array(x, dtype=np.float64)
    flat = out.reshape(len(out), -1)
    t = np.arange(len(out))
    for k in range(flat.shape[1]):
        ok = np.isfinite(flat[:, k])
        if ok.any() and not ok.all():
            flat[:, k] = np.interp(t, t[ok], flat[ok, k])
    return out


def segments(c: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) runs of True in a bool array."""
    d = np.diff(np.concatenate([[0], np.asarray(c).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Smooth (T,...) along time with a normalised Gaussian; edges use the available samples only, so
    the first and last frames are not pulled towards zero."""
    if sigma <= 0 or len(x) < 3:
        return x
    r = min(int(np.ceil(3 * sigma)), (len(x) - 1) // 2)  # np.convolve's "same" keeps the longer length
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    flat = x.reshape(len(x), -1).astype(np.float64)
    out = np.empty_like(flat)
    norm = np.convolve(np.ones(len(x)), k, mode="same")
    for c in range(flat.shape[1]):
        out[:, c] = np.convolve(flat[:, c], k, mode="same") / norm
    return out.reshape(x.shape)
