"""BlazePose-like landmarks from joint centres: the offsets BlazePose really has, measured, then put back.

BlazePose marks the body's surface (the shoulder's top, the malleoli, the nose, the heel), not the joint
centres a skeleton rotates about. A lifter trained on projected joint centres would see clean skeletal
points in training and surface points at run time. So each input landmark is made from an *anchor* joint
centre plus a constant offset in a frame that moves with a body segment:

    landmark = anchor + F @ offset,   F = [axis, lateral', axis x lateral']

where `axis` is the segment's direction (e.g. knee -> ankle) and `lateral'` the left-to-right direction of
the hips or shoulders made orthogonal to it. The offsets are fitted (profile.py) to BlazePose's 2D
landmarks on the rendered ground-truth clips, where the joint centres are known.
"""
from __future__ import annotations

import numpy as np

from posebake.lifting.inputs import LIFT_INPUTS
from posebake_core.skeleton import CENTRE_JOINTS

_C = {n: i for i, n in enumerate(CENTRE_JOINTS)}
_LATERAL = {"hips": ("left_hip", "right_hip"), "shoulders": ("left_shoulder", "right_shoulder")}


def _anchor(landmark: str) -> tuple[str, str, str, str]:
    """(anchor joint, segment from, segment to, lateral pair) for an input landmark."""
    side = landmark.split("_")[0] + "_" if landmark.startswith(("left_", "right_")) else ""
    part = landmark[len(side):]
    table = {
        "nose": ("head", "neck", "head", "shoulders"), "ear": ("head", "neck", "head", "shoulders"),
        "shoulder": (f"{side}shoulder", "chest", "neck", "shoulders"),
        "elbow": (f"{side}elbow", f"{side}shoulder", f"{side}elbow", "shoulders"),
        "wrist": (f"{side}wrist", f"{side}elbow", f"{side}wrist", "shoulders"),
        "hip": (f"{side}hip", "pelvis", "spine", "hips"),
        "knee": (f"{side}knee", f"{side}hip", f"{side}knee", "hips"),
        "ankle": (f"{side}ankle", f"{side}knee", f"{side}ankle", "hips"),
        "heel": (f"{side}ankle", f"{side}ankle", f"{side}toe", "hips"),
        "foot_index": (f"{side}ankle", f"{side}ankle", f"{side}toe", "hips"),
    }
    return table[part]


ANCHORS: tuple[tuple[int, int, int, tuple[int, int]], ...] = tuple(
    (_C[a], _C[f], _C[t], (_C[_LATERAL[lat][0]], _C[_LATERAL[lat][1]]))
    for a, f, t, lat in map(_anchor, LIFT_INPUTS))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def segment_frames(joints: np.ndarray) -> np.ndarray:
    """(..., J_in, 3, 3): per input landmark the frame F (columns axis, lateral', their cross product) of
    its segment, from joint centres (..., len(CENTRE_JOINTS), 3)."""
    out = np.empty(joints.shape[:-2] + (len(ANCHORS), 3, 3))
    for i, (_a, f, t, (l, r)) in enumerate(ANCHORS):
        e1 = _unit(joints[..., t, :] - joints[..., f, :])
        lat = joints[..., r, :] - joints[..., l, :]
        e2 = _unit(lat - np.sum(lat * e1, axis=-1, keepdims=True) * e1)
        out[..., i, :, :] = np.stack([e1, e2, np.cross(e1, e2)], axis=-1)
    return out


def anchors(joints: np.ndarray) -> np.ndarray:
    """(..., J_in, 3) the anchor joint centre of every input landmark."""
    return joints[..., [a for a, *_ in ANCHORS], :]


def landmarks(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(..., J_in, 3) BlazePose-like 3D landmarks: anchors moved by `offsets` (J_in, 3) in segment frames."""
    return anchors(joints) + np.einsum("...jab,jb->...ja", segment_frames(joints), offsets)
