"""Level BlazePose's feet: its heel and toe-tip landmarks tilt a planted foot toes-down, pure numpy.

On the rendered clips the estimate's heel-to-toe-tip line points 13-78 degrees below the horizontal in the
ground truth's contact frames, where the true soles lie within a few degrees of flat (median error 19.5
degrees on the evaluation clips, 42.9 on the tuning clips; bench/results/sole_pitch.md): the heel landmark
sits up the back of the heel. Retargeted as it is, every planted foot stands on its toes with the heel
centimetres up, and no flat stance is ever recognised for the lock to hold level. A planted foot is flat on
average over a stance (heel strike and toe-off tilt it both ways), so per foot the median pitch over the
frames it is planted (`detect_foot_contacts` on the 3D points, else its lowest frames) is this clip's bias:
heel and toe tip are turned about the ankle by it, in every frame (after: 3.8 and 8.8 degrees). A person on
tiptoe through a whole clip is levelled too.
"""
from __future__ import annotations

import numpy as np

from ..rot import axis_angle, normalize
from ..skeleton import JOINT_INDEX
from .contacts import detect_foot_contacts

#: Fewest planted frames to read a foot's bias from: below this (a clip with the foot always in the air) the
#: foot is left as it is.
MIN_PLANTED = 5
#: Where no planted frame is found (the estimate's depth makes every foot look fast), the foot's lowest quarter
#: of frames stand in for its stances: a planted foot is the lowest it gets, and a walk or run plants each
#: foot for 30-60 % of the time.
LOWEST_SHARE = 0.25
_LEGS = {s: [JOINT_INDEX[f"{side}_{p}"] for p in ("hip", "knee", "ankle", "heel", "foot_index")]
         for s, side in (("l", "left"), ("r", "right"))}


def sole_pitch(heel: np.ndarray, tip: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T,) the heel-to-toe-tip line's angle above the floor, radians (negative: toes down)."""
    v = tip - heel
    return np.arcsin(np.clip((v @ up) / np.linalg.norm(v, axis=-1), -1.0, 1.0))


def level_soles(world: np.ndarray, fps: float) -> dict[str, float]:
    """Turn each foot's heel and toe-tip landmarks (`world`: (T,33,3) BlazePose joints, Z up, gaps filled)
    about its ankle, in place, by minus its median sole pitch over its planted frames (see the module doc);
    returns the angle applied per side ("l"/"r", radians; 0 where too few frames are planted)."""
    up = np.array([0.0, 0.0, 1.0])
    out: dict[str, float] = {}
    leg = float(np.nanmedian(sum(np.linalg.norm(world[:, _LEGS[s][i + 1]] - world[:, _LEGS[s][i]], axis=-1)
                                 for s in ("l", "r") for i in (0, 1)) / 2))
    for s, (_, _, ia, ih, it) in _LEGS.items():
        ankle, heel, tip = world[:, ia], world[:, ih], world[:, it]
        planted = detect_foot_contacts(heel, tip, fps, leg, up)
        if planted.sum() < MIN_PLANTED:  # depth noise hid every stance from the 3D speed: its lowest frames
            low = np.minimum(heel @ up, tip @ up)
            planted = low <= np.percentile(low, 100 * LOWEST_SHARE)
        if planted.sum() < MIN_PLANTED or not np.isfinite(leg):
            out[s] = 0.0
            continue
        bias = float(np.median(sole_pitch(heel[planted], tip[planted], up)))
        fwd = tip - heel
        fwd = fwd - (fwd @ up)[:, None] * up
        R = axis_angle(np.cross(normalize(fwd), up), np.full(len(heel), -bias))  # positive turns toes up
        for k in (ih, it):
            world[:, k] = ankle + np.einsum("tij,tj->ti", R, world[:, k] - ankle)
        out[s] = -bias
    return out
