"""Camera-space Motion joints -> a camera-independent world frame: Z up, ground at z = 0.

Video gives joints in OpenCV camera axes (x right, y down, z forward), with a camera that is rarely
level. "Up" is the normal of the ground plane, fitted to foot contacts: in each frame the lowest foot
point (ankles, heels, toes) usually stands on the floor, so a robust plane through those points (Tukey
reweighting, which ignores jumps and mis-detections) gives gravity where the points spread across the floor.
Where they do not (a jump in place: one spot, take-offs and landings stacked in a vertical line; a walk in a
straight line: free to roll about it), the body's own up decides: the ankle-to-shoulder line in the frames with
the straightest knees (standing tall), a prior the feet must outvote by spreading over tens of centimetres
(`GROUND_PRIOR_M2`). The fit starts from that prior's plane, so flight frames are dropped before any plane
can tilt towards them. Facing is kept: world +Y is the
camera's viewing direction laid on the floor, so a person facing the camera faces -Y (Blender's front).
The origin is on the floor under the first frame's mid-hip. For the bake, BlazePose's planted feet, which it
tilts toes-down, are levelled about their ankles (`sole.level_soles`) and the floor's height is taken again
under the levelled soles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PoseBakeError
from ..rot import normalize
from ..skeleton import JOINT_INDEX
from ..timeseries import fill_gaps
from .canonical import SIDES, CanonicalPose, from_blazepose, from_centres
from .fingers import confidence_weights, hand_joints, limit_hyperextension
from .sole import level_soles

_FEET = [JOINT_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("ankle", "heel", "foot_index")]
_HIPS = [JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]
_SHOULDERS = [JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]]
_ANKLES = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]


class WorldFrameError(PoseBakeError, ValueError):
    """The motion has too little data to find the floor."""


@dataclass
class WorldMotion:
    joints: np.ndarray   # (T,33,3) world, Z up, metres
    rotation: np.ndarray  # (3,3) camera -> world
    origin: np.ndarray   # (3,) camera-space point that becomes the world origin
    up_cam: np.ndarray   # (3,) floor normal in camera axes
    contacts: np.ndarray  # (T,3) the per-frame lowest foot points used for the fit (camera axes)


#: The body's up prior counts as much as this spread of the floor points (m²): (0.2 m)². Estimated feet
#: wander by centimetres in height, so a tilt read over less spread than that is noise; feet spread over metres
#: (walks, runs) outvote it. With the earlier (1 cm)², jumps in place stood the floor on its side: the
#: rendered forward_jumps_tracking and jump_close_pan clips came out 74 and 77 degrees off gravity (now 2 and
#: 4; every ground-truth clip in bench/results/world_up.md).
GROUND_PRIOR_M2 = 0.2 ** 2

#: Share of the frames, those with the straightest knees, whose ankle-to-shoulder line is the body's up: a
#: stance, a take-off or a landing stands tall there, while the trunk alone leans into jumps and runs (its
#: median was 2-27 degrees off gravity on the ground-truth clips, this line 2-18; bench/results/world_up.md).
UPRIGHT_SHARE = 0.25


def body_up(j: np.ndarray) -> np.ndarray:
    """Unit up-direction of the body in `j`'s axes (T,33,3, gaps filled): the median mid-ankle to mid-shoulder
    direction over the `UPRIGHT_SHARE` of frames whose more bent knee is straightest (both legs long)."""
    knee = np.full(len(j), np.inf)
    for s in ("left", "right"):
        thigh = normalize(j[:, JOINT_INDEX[f"{s}_hip"]] - j[:, JOINT_INDEX[f"{s}_knee"]])
        shin = normalize(j[:, JOINT_INDEX[f"{s}_ankle"]] - j[:, JOINT_INDEX[f"{s}_knee"]])
        knee = np.minimum(knee, np.degrees(np.arccos(np.clip(np.sum(thigh * shin, -1), -1, 1))))
    tall = knee >= np.percentile(knee, 100 * (1 - UPRIGHT_SHARE))
    line = normalize(j[:, _SHOULDERS].mean(1) - j[:, _ANKLES].mean(1))
    return normalize(np.median(line[tall], axis=0))


def _tukey(r: np.ndarray) -> np.ndarray:
    """Tukey biweight weights of residuals `r` (metres), scale from their MAD, at least 5 mm."""
    s = 4.685 * max(1.4826 * float(np.median(np.abs(r - np.median(r)))), 0.005)
    return np.where(np.abs(r) < s, (1 - (r / s) ** 2) ** 2, 0.0) + 1e-9


def floor_height(z: np.ndarray, iters: int = 10) -> float:
    """Robust level (Tukey location, from the median) of the lowest foot points' heights `z` (N,)."""
    h = float(np.median(z))
    for _ in range(iters):
        w = _tukey(z - h)
        h = float((w * z).sum() / w.sum())
    return h


def fit_ground(points: np.ndarray, prior_up: np.ndarray, prior_m2: float = GROUND_PRIOR_M2,
               iters: int = 10) -> tuple[np.ndarray, float]:
    """Robust plane n.p = d through `points` (N,3, metres); returns (unit normal towards `prior_up`, d).

    Tukey-reweighted least squares starting from the prior's plane through the median point, with the prior
    weighing as much as `prior_m2` of spread (a normal tilted by a from `prior_up` costs prior_m2 * sin(a)^2
    per point, as a point spread that far along the tilt would)."""
    prior_up = normalize(prior_up)
    n, d = prior_up, float(prior_up @ np.median(points, axis=0))
    for _ in range(iters):
        w = _tukey(points @ n - d)
        c = (w[:, None] * points).sum(0) / w.sum()
        q = points - c
        cov = (w[:, None, None] * q[:, :, None] * q[:, None, :]).sum(0) / w.sum()
        cov += prior_m2 * (np.eye(3) - np.outer(prior_up, prior_up))
        n = np.linalg.eigh(cov)[1][:, 0]
        n = n if n @ prior_up > 0 else -n
        d = float(n @ c)
    return n, d


def to_world(joints_cam: np.ndarray, level_feet: bool = False) -> WorldMotion:
    """Map one track's (T,33,3) camera-space joints to the world frame described in the module doc. With
    `level_feet` (what the bake and its camera use), the feet are levelled (`sole.level_soles`: BlazePose
    plants them toes-down) and the floor put under the levelled soles; the up axis is the same either way."""
    j = np.asarray(joints_cam, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (33, 3):
        raise WorldFrameError(f"expected (T,33,3) BlazePose joints, got {j.shape}")
    present = np.isfinite(j).all(-1).any(-1)
    if present.sum() < 2:
        raise WorldFrameError("the track has fewer than 2 frames with joints; cannot find the floor")
    j = fill_gaps(j)
    hips = j[:, _HIPS].mean(1)
    prior = body_up(j)
    feet = j[:, _FEET]
    lowest = feet[np.arange(len(j)), np.argmin(feet @ prior, axis=1)]
    up, d = fit_ground(lowest[present], prior)
    fwd = normalize(np.array([0.0, 0.0, 1.0]) - up[2] * up)
    right = np.cross(fwd, up)
    R = np.stack([right, fwd, up])  # rows: world X, Y, Z in camera axes
    h0 = hips[np.flatnonzero(present)[0]]
    origin = h0 - (h0 @ up - d) * up
    world = (j - origin) @ R.T
    if level_feet:
        level_soles(world)
        feet = world[:, _FEET, 2]
        lift = floor_height(feet.min(axis=1)[present])
        world[..., 2] -= lift
        origin = origin + lift * up
    return WorldMotion(world, R, origin, up, lowest)


def canonical_from_camera(joints_cam: np.ndarray, fps: float, skeleton_cam: np.ndarray | None = None,
                          skeleton_names: tuple[str, ...] = (), hands_cam: np.ndarray | None = None,
                          hands_conf: np.ndarray | None = None) -> CanonicalPose:
    """One Motion track (T,33,3 camera space) -> the canonical pose in the world frame (what `bake` takes).

    With the track's joint centres (T,S,3, same camera axes) the pose is built from them; the floor and
    the world frame still come from the landmarks' feet (heels and toe tips touch the floor, joint centres
    do not). With the track's hands (T,2,21,3 camera axes; (T,2) confidence) the canonical pose gains the
    finger joints (`fingers.hand_joints`, limited to no backward bends) and their blend weights."""
    wm = to_world(joints_cam, level_feet=True)
    if skeleton_cam is None:
        canon = from_blazepose(wm.joints, fps)
    else:
        skeleton = (fill_gaps(np.asarray(skeleton_cam, np.float64)) - wm.origin) @ wm.rotation.T
        canon = from_centres(skeleton, skeleton_names, wm.joints, fps)
    if hands_cam is not None and hands_conf is not None:
        hands = (np.asarray(hands_cam, np.float64) - wm.origin) @ wm.rotation.T
        for k, side in enumerate(SIDES):
            canon.joints.update(hand_joints(hands[:, k], side))
            limit_hyperextension(canon.joints, side)
            canon.weights[side] = confidence_weights(hands_conf[:, k])
    return canon
