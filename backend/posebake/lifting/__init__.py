"""2D->3D lifting: BlazePose's 2D landmarks -> the body's joint centres (MotionBERT-style DSTformer).

`LIFTERS` names the choices of `--lifter`; each maps a Motion to its `skeleton_cam` array, or is None
(no joint centres: the bake uses BlazePose's landmarks).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from posebake_core.motion import Motion


def _motionbert(motion: Motion, device: str) -> np.ndarray:
    from .place import lift_motion

    return lift_motion(motion, device=device)


LIFTERS: dict[str, Callable[[Motion, str], np.ndarray] | None] = {"motionbert": _motionbert, "none": None}
#: The more accurate choice on the rendered GT clips: BlazePose's own 3D (MPJPE 118 mm against the lifter's
#: 130, bench/RESULTS.md). The issue's rule: the default is whichever measures better.
DEFAULT_LIFTER = "none"
