"""Camera-space Motion joints -> a camera-independent world frame: Z up, ground at z = 0.

Video gives joints in OpenCV camera axes (x right, y down, z forward), with a camera that is rarely
level. "Up" is the normal of the ground plane, fitted to foot contacts: in each frame the lowest foot
point (ankles, heels, toes) usually stands on the floor, so a robust plane through those points (Tukey
reweighting, which ignores jumps and mis-detections) gives gravity. A subject walking in a straight line
leaves the plane free to roll about the walking direction; a weak prior towards the trunk's mean
up-direction pins that roll without biasing well-spread contacts. Facing is kept: world +Y is the
camera's viewing direction laid on the floor, so a person facing the camera faces -Y (Blender's front).
The origin is on the floor under the first frame's mid-hip.
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

_FEET = [JOINT_INDEX[f"{s}_{p}"] for s in ("left", "right") for p in ("ankle", "heel", "foot_index")]
_HIPS = [JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]
_SHOULDERS = [JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]]


class WorldFrameError(PoseBakeError, ValueError):
    """The motion has too little data to find the floor."""


@dataclass
class WorldMotion:
    joints: np.ndarray   # (T,33,3) world, Z up, metres
    rotation: np.ndarray  # (3,3) camera -> world
    origin: np.ndarray   # (3,) camera-space point that becomes the world origin
    up_cam: np.ndarray   # (3,) floor normal in camera axes
    contacts: np.ndarray  # (T,3) the per-frame lowest foot points used for the fit (camera axes)


def fit_ground(points: np.ndarray, prior_up: np.ndarray, prior_weight: float = 1e-4,
               iters: int = 10) -> tuple[np.ndarray, float]:
    """Robust plane n.p = d through `points` (N,3); returns (unit normal towards `prior_up`, d)."""
    w = np.ones(len(points))
    n, d = normalize(prior_up), 0.0
    for _ in range(iters):
        c = (w[:, None] * points).sum(0) / w.sum()
        q = points - c
        cov = (w[:, None, None] * q[:, :, None] * q[:, None, :]).sum(0) / w.sum()
        cov += prior_weight * (np.eye(3) - np.outer(prior_up, prior_up))  # weak pull towards prior_up
        n = np.linalg.eigh(cov)[1][:, 0]
        n = n if n @ prior_up > 0 else -n
        d = float(n @ c)
        r = points @ n - d
        s = 4.685 * max(1.4826 * np.median(np.abs(r - np.median(r))), 0.005)  # Tukey, >= 5 mm scale
        w = np.where(np.abs(r) < s, (1 - (r / s) ** 2) ** 2, 0.0) + 1e-9
    return n, d


def to_world(joints_cam: np.ndarray) -> WorldMotion:
    """Map one track's (T,33,3) camera-space joints to the world frame described in the module doc."""
    j = np.asarray(joints_cam, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (33, 3):
        raise WorldFrameError(f"expected (T,33,3) BlazePose joints, got {j.shape}")
    present = np.isfinite(j).all(-1).any(-1)
    if present.sum() < 2:
        raise WorldFrameError("the track has fewer than 2 frames with joints; cannot find the floor")
    j = fill_gaps(j)
    hips, shoulders = j[:, _HIPS].mean(1), j[:, _SHOULDERS].mean(1)
    prior = normalize(np.median(normalize(shoulders - hips), axis=0))
    feet = j[:, _FEET]
    lowest = feet[np.arange(len(j)), np.argmin(feet @ prior, axis=1)]
    up, d = fit_ground(lowest[present], prior)
    fwd = normalize(np.array([0.0, 0.0, 1.0]) - up[2] * up)
    right = np.cross(fwd, up)
    R = np.stack([right, fwd, up])  # rows: world X, Y, Z in camera axes
    h0 = hips[np.flatnonzero(present)[0]]
    origin = h0 - (h0 @ up - d) * up
    world = (j - origin) @ R.T
    return WorldMotion(world, R, origin, up, lowest)


def canonical_from_camera(joints_cam: np.ndarray, fps: float, skeleton_cam: np.ndarray | None = None,
                          skeleton_names: tuple[str, ...] = (), hands_cam: np.ndarray | None = None,
                          hands_conf: np.ndarray | None = None) -> CanonicalPose:
    """One Motion track (T,33,3 camera space) -> the canonical pose in the world frame (what `bake` takes).

    With the track's joint centres (T,S,3, same camera axes) the pose is built from them; the floor and
    the world frame still come from the landmarks' feet (heels and toe tips touch the floor, joint centres
    do not). With the track's hands (T,2,21,3 camera axes; (T,2) confidence) the canonical pose gains the
    finger joints (`fingers.hand_joints`, limited to no backward bends) and their blend weights."""
    wm = to_world(joints_cam)
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
