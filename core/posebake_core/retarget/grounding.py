"""Root height where a planted leg cannot reach the floor, pure numpy.

The solve puts the rig's mid-hip on the source's (scaled by leg length). Where the rig's soles then sink into
the floor, the foot lock's IK bends the knee to lift them; where they float and the leg is already straight,
no bend reaches: the estimate's floor wanders with its depth, or the rig's ankles sit lower than the person's.
There the root must come down (the issue's "adjust the root where a leg cannot reach"). In each contact frame
the planted legs' shortfall (how much farther than thigh + shin the ankle would have to go for the lowest sole
point to meet the floor) is taken; the root drops by the median of it over the planted frames within `WINDOW`
(a run of stances: slow drift followed, single-frame noise not), eased through the flights between (linear,
then a Gaussian of `EASE_SIGMA` frames), so a jump keeps its arc and a landing does not pop. Only down: a rig
standing too low keeps the hips on the person's and bends its knees instead.
"""
from __future__ import annotations

import numpy as np

from ..timeseries import gaussian_smooth
from .armature import RestPose
from .contacts import foot_offsets

#: Frames over which the root's height change eases between runs of contacts: about the foot lock's own
#: blend (4 frames), so the pelvis and the planted feet settle together.
EASE_SIGMA = 3.0
#: Frames either side whose planted shortfalls are pooled: half a second at 30 fps, about one walking step,
#: so a stance is judged with its neighbours while the estimate's slower drift in height is still followed.
WINDOW = 15
#: The legs count as reaching while the ankle stays within this share of thigh + shin from the hip: the IK
#: straightens a leg fully only at a goal beyond it, and a locked straight knee looks wrong.
REACH = 0.995


def shortfalls(rest: RestPose, mapping: dict[str, list[str]], full: np.ndarray, heads: np.ndarray,
               up: np.ndarray, floor: float) -> dict[str, np.ndarray]:
    """Per side with a mapped leg ("L"/"R"): (T,) how far (scene units) the ankle would have to reach beyond
    `REACH` of thigh + shin for the foot's lowest sole point (heel, ball, toe tip, posed by `full`) to stand on
    the floor (height `floor` along `up`); zero where it reaches."""
    out = {}
    for S in ("L", "R"):
        if not all(mapping.get(f"{k}.{S}") for k in ("thigh", "shin", "foot")):
            continue
        ih, ik, ia = (rest.index(mapping[f"{k}.{S}"][0]) for k in ("thigh", "shin", "foot"))
        reach = REACH * float(np.linalg.norm(rest.heads[ik] - rest.heads[ih]) + np.linalg.norm(rest.heads[ia] - rest.heads[ik]))
        ankle = heads[:, ia]
        gap = (ankle[:, None] + foot_offsets(rest, mapping, full, S.lower(), up)) @ up
        goal = ankle - (gap.min(axis=1) - floor)[:, None] * up
        out[S] = np.maximum(np.linalg.norm(goal - heads[:, ih], axis=-1) - reach, 0.0)
    return out


def root_drop(short: dict[str, np.ndarray], contacts: dict[str, np.ndarray]) -> np.ndarray:
    """(T,) how far to lower the root so the planted legs reach the floor: the larger planted shortfall per
    frame, its median over the planted frames within `WINDOW`, eased through the frames with no foot planted
    (see the module doc). Zero throughout when nothing is planted."""
    T = len(next(iter(short.values()))) if short else 0
    per_frame = np.full(T, -np.inf)
    for S, s in short.items():
        c = np.asarray(contacts.get(S, np.zeros(T, bool)), bool)[:T]
        per_frame = np.where(c & np.isfinite(s), np.maximum(per_frame, s), per_frame)
    known = np.flatnonzero(np.isfinite(per_frame))
    if not len(known):
        return np.zeros(T)
    level = np.array([np.median(per_frame[known[np.abs(known - t) <= WINDOW]]) for t in known])
    return gaussian_smooth(np.interp(np.arange(T), known, level), EASE_SIGMA)
