"""Hands over time: finger landmarks refined without flattening quick finger motion, kept on the wrist.

The hand landmark model reads each frame on its own, and its crop moves with the landmarks it produced, so a
still hand's landmarks jitter by several millimetres (bench/results/hand_smoothing.md measures it on the real
photos). Fingers also move fast: a grab closes a fist in ~100 ms, three frames at 30 fps, so a fixed low-pass
that removes the jitter also rounds off the grab. The one-euro filter (Casiez et al., CHI 2012) lowers its
cutoff when the signal is slow and raises it with speed; run forward and backward and averaged, its lag
cancels (we filter whole clips, not live). Its parameters were chosen on the benchmark's quick synthetic curl
with the measured noise: the lowest error overall with the fist's flexion still reached.

What is filtered is each hand's shape relative to its own wrist, per seen stretch (frames where the hand was
not seen stay NaN and split the stretches: no averaging across a gap). The wrist itself belongs to the body
and was smoothed with it, so the refined shape is put back on the smoothed body's wrist: hands and body stay
one skeleton.
"""
from __future__ import annotations

import numpy as np

from posebake_core.skeleton import JOINT_INDEX

from .filters import oneeuro

#: Chosen in bench/results/hand_smoothing.md (grid over cutoff 1-4 Hz, beta 0-160 1/m; quick 3-frame curl).
HAND_MIN_CUTOFF = 1.0  # Hz
HAND_BETA = 40.0  # 1/m: a fingertip moving 0.5 m/s opens the cutoff by 20 Hz
WRISTS = (JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"])  # body joints, in HAND_SIDES order


def zero_phase_oneeuro(x: np.ndarray, fps: float, min_cutoff: float = HAND_MIN_CUTOFF,
                       beta: float = HAND_BETA) -> np.ndarray:
    """One-euro forward and backward in time, averaged: each direction lags the other way, so the lag
    cancels while the speed-adaptive cutoff is kept. x (T, ...), NaN frames split segments."""
    fwd = oneeuro(x, fps=fps, min_cutoff=min_cutoff, beta=beta)
    bwd = oneeuro(x[::-1], fps=fps, min_cutoff=min_cutoff, beta=beta)[::-1]
    return 0.5 * (fwd + bwd)


def refine_hands(hands_cam: np.ndarray, joints_cam: np.ndarray, fps: float, filtered: bool = True) -> np.ndarray:
    """(P,T,2,21,3) camera-space hands -> the same, each hand's wrist-relative shape filtered (when
    `filtered`) and placed on the body's wrist in `joints_cam` (P,T,33,3), NaN where the hand was not seen."""
    out = np.array(hands_cam, dtype=np.float64, copy=True)
    for p in range(out.shape[0]):
        for s, wrist in enumerate(WRISTS):
            hand = out[p, :, s]
            shape = hand - hand[:, :1]
            if filtered:
                shape = zero_phase_oneeuro(shape, fps)
            out[p, :, s] = joints_cam[p, :, wrist, None].astype(np.float64) + shape
    return out.astype(np.asarray(hands_cam).dtype)
