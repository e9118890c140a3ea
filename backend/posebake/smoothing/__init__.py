"""Temporal smoothing of estimated motion: a trained SmoothNet refiner and classical filter baselines.

    from posebake.smoothing import smooth_motion
    smoothed = smooth_motion(motion, "smoothnet")  # or "oneeuro", "savgol", "gaussian", "none"

`smooth_motion` returns a copy of the Motion whose `joints_cam` is smoothed for every track (NaN frames,
i.e. the person absent, stay NaN) and whose `smoothing` names the method ("smoothnet-T32" for the
network, with its window). Finger landmarks, where the Motion has them, are refined with a speed-adaptive
filter that keeps quick finger motion and are put back on the smoothed wrists (hands.py). The 2D landmarks
and visibilities are observations and are left alone.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from posebake_core.skeleton import JOINT_INDEX

METHODS = ("smoothnet", "oneeuro", "savgol", "gaussian", "none")
DEFAULT_WINDOW = 32
#: SmoothNet windows start every DEFAULT_STEP frames (each frame still averaged over ~11 overlapping windows):
#: on the rendered ground-truth clips step 3 scores as step 1 does (MPJPE 111.9 vs 111.8 mm, PA-MPJPE 78.5,
#: accel error 7.23 mm/f² both) at 1.3 instead of 3.9 ms per frame on one CPU thread; step 4 costs 0.3 mm
#: MPJPE (bench/results/smoothing.md, section 3b).
DEFAULT_STEP = 3
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "data"
HIPS = (JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"])


def weights_path(window: int = DEFAULT_WINDOW) -> Path:
    """Shipped weights (package data) for `window`, else user-trained ones in the model cache
    (``$POSEBAKE_CACHE/smoothnet/``): only T=32 ships, other windows are a `train-smoothnet` away."""
    from ..paths import cache_dir

    name = f"smoothnet_T{window}.pt"
    shipped, trained = WEIGHTS_DIR / name, cache_dir() / "smoothnet" / name
    return trained if not shipped.is_file() and trained.is_file() else shipped


@lru_cache(maxsize=8)
def load_refiner(window: int = DEFAULT_WINDOW, device: str = "cpu"):
    """The shipped SmoothNet refiner for window `window` on `device` (cached: loading costs ~50 ms)."""
    import torch

    from .smoothnet import SmoothNetRefiner

    path = weights_path(window)
    if not path.is_file():
        raise PoseBakeError(f"no SmoothNet weights for window {window} ({path}); "
                            "train them with `posebake train-smoothnet`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return SmoothNetRefiner.from_state_dict(state).to(device)


def smooth_joints(joints: np.ndarray, method: str, fps: float = 30.0, device: str = "cpu",
                  window: int = DEFAULT_WINDOW, step: int = DEFAULT_STEP) -> np.ndarray:
    """Smooth one track's (T, J, 3) BlazePose-ordered joints (NaN where absent) with `method`.

    The filters assume their tuning frame rate of 30 fps in frames; the one-euro filter works in
    seconds and takes `fps` directly.
    """
    from . import filters

    if method == "none":
        return np.array(joints, dtype=np.float32, copy=True)
    if method == "smoothnet":
        from .windows import refine_track

        return refine_track(load_refiner(window, str(device)), joints, HIPS, step=step, device=device)
    if method == "oneeuro":
        return filters.oneeuro(joints, fps=fps).astype(np.float32)
    if method == "savgol":
        return filters.savgol(joints).astype(np.float32)
    if method == "gaussian":
        return filters.gaussian(joints).astype(np.float32)
    raise PoseBakeError(f"unknown smoothing method {method!r}; choose one of {', '.join(METHODS)}")


def smooth_motion(motion: Motion, method: str, device: str = "cpu", window: int = DEFAULT_WINDOW,
                  step: int = DEFAULT_STEP) -> Motion:
    """A copy of `motion` with every track's `joints_cam` smoothed (and its hands refined on the smoothed
    wrists) and `smoothing` set to the method."""
    if method not in METHODS:
        raise PoseBakeError(f"unknown smoothing method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "smoothnet" and motion.joint_names != tuple(JOINT_INDEX):
        raise PoseBakeError("smoothnet needs the 33 BlazePose joints (it finds the root from the hips)")
    out = np.stack([smooth_joints(motion.joints_cam[p], method, motion.fps, device, window, step)
                    for p in range(motion.num_tracks)])
    label = f"smoothnet-T{window}" if method == "smoothnet" else method
    hands = None
    if motion.hands_cam is not None:
        from .hands import refine_hands

        hands = refine_hands(motion.hands_cam, out, motion.fps, filtered=method != "none")
    return replace(motion, joints_cam=out, hands_cam=hands, smoothing=label)


__all__ = ["METHODS", "smooth_motion", "smooth_joints", "load_refiner", "weights_path"]
