"""Level BlazePose's feet: its heel and toe-tip landmarks tilt a planted foot toes-down, pure numpy.

On the rendered clips the estimate's heel-to-toe-tip line points 13-78 degrees below the horizontal in the
ground truth's contact frames, where the true soles lie within a few degrees of flat (median error 19.5
degrees on the evaluation clips, 42.9 on the tuning clips; bench/results/sole_pitch.md): the heel landmark
sits up the back of the heel. Retargeted as it is, every planted foot stands on its toes with the heel
centimetres up, and no flat stance is ever recognised for the lock to hold level. A planted foot is flat on
average over a stance (heel strike and toe-off tilt it both ways), so per foot the median pitch over the
frames it stands lowest in is this clip's bias: heel and toe tip are turned about the ankle by it, in every
frame (after: 6.2 and 5.5 degrees). A person on tiptoe through a whole clip is levelled too.
"""
from __future__ import annotations

import numpy as np

from ..rot import axis_angle, normalize
from ..skeleton import JOINT_INDEX

#: Fewest frames to read a foot's bias from: a shorter clip's feet are left as they are.
MIN_PLANTED = 5
#: The foot's lowest quarter of frames stand for its stances: a planted foot is the lowest it gets, and a walk
#: or run plants each foot for 30-60 % of the time. Chosen on the unreserved tuning clips over the contact
#: detector's frames (median error 5.5 against 8.8 degrees there; bench/results/sole_pitch.md): the estimate's
#: depth makes planted feet look fast, and the detector found none on the running clips.
LOWEST_SHARE = 0.25
_FOOT_POINTS = {s: [JOINT_INDEX[f"{side}_{p}"] for p in ("ankle", "heel", "foot_index")]
         for s, side in (("l", "left"), ("r", "right"))}


def sole_pitch(heel: np.ndarray, tip: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(T,) the heel-to-toe-tip line's angle above the floor, radians (negative: toes down)."""
    v = tip - heel
    return np.arcsin(np.clip((v @ up) / np.linalg.norm(v, axis=-1), -1.0, 1.0))


def level_soles(world: np.ndarray) -> dict[str, float]:
    """Turn each foot's heel and toe-tip landmarks (`world`: (T,33,3) BlazePose joints, Z up, gaps filled)
    about its ankle, in place, by minus its median sole pitch over its lowest frames (see the module doc);
    returns the angle applied per side ("l"/"r", radians; 0 for a clip under `MIN_PLANTED` frames)."""
    up = np.array([0.0, 0.0, 1.0])
    out: dict[str, float] = {}
    for s, (ia, ih, it) in _FOOT_POINTS.items():
        ankle, heel, tip = world[:, ia], world[:, ih], world[:, it]
        low = np.minimum(heel @ up, tip @ up)
        planted = low <= np.percentile(low, 100 * LOWEST_SHARE)
        if planted.sum() < MIN_PLANTED:
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
