"""Classical temporal filters, the baselines SmoothNet has to beat: one-euro, Savitzky-Golay, Gaussian.

All work on (T, ...) arrays of positions, every trailing coordinate an independent signal, and are
NaN-gap aware: frames with any non-finite value split the sequence into segments that are filtered on
their own and the gap frames come back untouched (averaging across a gap would drag the pose towards a
person who was not there). A segment too short for a filter's window is filtered with the longest
window that fits, or returned as is.

The default parameters were tuned by `posebake_dev.smoothnet.tune_filters.tune` (grid search, lowest
root-relative MPJPE) on the SmoothNet validation sequences: held-out CMU motions with PoseBake-shaped
noise (`posebake_dev.smoothnet.train.val_sequences`,
seed 1234), i.e. the same data SmoothNet was validated on, never the GT clips it is benchmarked on.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

from posebake_core.timeseries import segments

# Tuned with `python -m posebake_dev.smoothnet.tune_filters` (a grid search); the grid and the scores are in
# bench/results/smoothing.md.
ONEEURO_MIN_CUTOFF = 3.0  # Hz
ONEEURO_BETA = 0.0  # 1/m; the grid's best: speed-adaptive cutoffs (beta > 0) let the bursts through

ONEEURO_D_CUTOFF = 1.0  # Hz, for the speed estimate (the paper's usual value, not tuned)
SAVGOL_WINDOW = 15  # frames
SAVGOL_ORDER = 1  # order 1 on 15 frames: a local line (the grid preferred it to quadratics)
GAUSSIAN_SIGMA = 4.0  # frames


def by_segments(x: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply `fn` to every gap-free run of frames of x (T, ...), as float64 (T_seg, D); NaN frames kept."""
    x = np.asarray(x)
    flat = x.reshape(len(x), -1).astype(np.float64)
    out = flat.copy()
    for a, b in segments(np.isfinite(flat).all(axis=1)):
        out[a:b] = fn(flat[a:b])
    return out.reshape(x.shape).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)


def _alpha(cutoff: np.ndarray, fps: float) -> np.ndarray:
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau * fps)


def oneeuro(x: np.ndarray, fps: float = 30.0, min_cutoff: float = ONEEURO_MIN_CUTOFF,
            beta: float = ONEEURO_BETA, d_cutoff: float = ONEEURO_D_CUTOFF) -> np.ndarray:
    """One-euro filter (Casiez et al., CHI 2012): a first-order low-pass whose cutoff grows with the
    signal's filtered speed, so it is smooth when still and lags little when moving. Causal (usable
    live), hence some lag remains; restarted at every gap."""
    def run(seg: np.ndarray) -> np.ndarray:
        out = np.empty_like(seg)
        prev, dprev = seg[0], np.zeros(seg.shape[1])
        out[0] = prev
        a_d = _alpha(np.array(d_cutoff), fps)
        for t in range(1, len(seg)):
            d = (seg[t] - prev) * fps
            dprev = a_d * d + (1 - a_d) * dprev
            a = _alpha(min_cutoff + beta * np.abs(dprev), fps)
            prev = a * seg[t] + (1 - a) * prev
            out[t] = prev
        return out
    return by_segments(x, run)


def savgol(x: np.ndarray, window: int = SAVGOL_WINDOW, order: int = SAVGOL_ORDER) -> np.ndarray:
    """Savitzky-Golay: a local polynomial fit per frame; keeps peaks better than a moving average."""
    def run(seg: np.ndarray) -> np.ndarray:
        w = min(window, len(seg) if len(seg) % 2 else len(seg) - 1)
        if w <= order:
            return seg
        return savgol_filter(seg, w, order, axis=0, mode="interp")
    return by_segments(x, run)


def gaussian(x: np.ndarray, sigma: float = GAUSSIAN_SIGMA) -> np.ndarray:
    """Gaussian low-pass (zero phase), edges handled by mirroring."""
    return by_segments(x, lambda seg: gaussian_filter1d(seg, sigma, axis=0, mode="mirror") if len(seg) > 1 else seg)


#: name -> filter, the classical baselines `smooth_motion` offers beside SmoothNet
FILTERS = {"oneeuro": oneeuro, "savgol": savgol, "gaussian": gaussian}
