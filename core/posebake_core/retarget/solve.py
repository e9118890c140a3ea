"""Per-bone rotations of a target armature from a canonical pose: swing + twist, roll-independent.

For every mapped bone we build a world (armature-space) rotation D(t) taking the bone from its rest pose
to frame t: D = F_src(t) @ F_rest.T, where each F is an orthonormal frame from a *primary* vector (the
bone's joint-to-joint direction, matched exactly: the swing) and a *secondary* one fixing the twist:
hip line for the pelvis, shoulder line for the chest, the limb's bend plane for arms and legs, heel-toe
for feet, the ear line for the head. F_rest is built by the same recipe from the rig's own rest joints,
so a source standing in the rig's rest pose gives D = I whatever the rig's A/T pose or bone rolls.

Blender poses a bone as ``P_b = P_parent @ R_parent.T @ R_b @ B_b`` (rotation parts, R = rest matrix),
so with P_b = D_b @ R_b the pose-bone rotation is ``B_b = R_b.T @ D_parent.T @ D_b @ R_b``. Unmapped
bones keep B = I (they ride on their parent), so D_b = D_parent for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..rot import axis_angle, continuous, frame, matrix_to_quat, normalize
from .armature import (RestPose, detached_bones, detached_locations, fk_heads, rest_chain, rest_finger_joints,
                       rest_joints, translation_bone)
from .canonical import CHAIN_ROLES, ROLE_JOINTS, CanonicalPose, body_axes, leg_length
from .contacts import lock_feet
from .fingers import FINGER_ROLES, palm_hand_references, solve_fingers


@dataclass
class Solution:
    """Baking input: per-bone local quaternions (T,4) (w,x,y,z) in Blender pose-bone convention, the
    location (T,3) of `root_bone` in its own rest frame, and `locations` (T,3) of detached bones (IK-style
    feet and hands, legs beside the pelvis) in theirs. `world` holds D (T,3,3) per bone for checks."""

    quats: dict[str, np.ndarray]
    root_bone: str
    root_location: np.ndarray
    fps: float
    scale: float
    world: dict[str, np.ndarray] = field(default_factory=dict)
    heads: np.ndarray | None = None  # (T,B,3) FK bone heads after solving, armature space
    contacts: dict[str, np.ndarray] = field(default_factory=dict)
    locations: dict[str, np.ndarray] = field(default_factory=dict)


def _bend(a: np.ndarray, b: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """The bend axis a x b of a two-segment limb, blended towards `fallback` as the limb straightens
    (a straight limb has no plane of its own; a smooth blend avoids a twist pop when it straightens)."""
    n = np.cross(normalize(a), normalize(b))
    s = np.linalg.norm(n, axis=-1, keepdims=True)
    w = np.clip((s - 0.05) / 0.2, 0.0, 1.0)
    # a landmark never seen (the wrist out of frame) leaves no plane at all: the fallback alone
    seen = np.isfinite(s)
    w, n = np.where(seen, w, 0.0), np.where(seen, n, 0.0)
    return normalize(w * normalize(n) + (1 - w) * normalize(fallback))


def secondary(role: str, j: dict[str, np.ndarray]) -> np.ndarray:
    """The twist reference vector of a role (see module docstring)."""
    left, fwd, up = body_axes(j)
    if role == "pelvis":
        return j["spine_base"] - j["hips"]
    if role == "head":
        return j["ear_l"] - j["ear_r"]
    side = role[-1].lower()
    kind = role[:-2]
    if kind == "clavicle":
        return up
    if kind in ("upper_arm", "forearm"):
        upper = j[f"elbow_{side}"] - j[f"shoulder_{side}"]
        fb = np.cross(normalize(upper), fwd)
        return _bend(upper, j[f"wrist_{side}"] - j[f"elbow_{side}"], fb + 0.01 * up)
    if kind == "hand":
        return j[f"thumb_{side}"] - j[f"wrist_{side}"]
    if kind in ("thigh", "shin"):
        shin = j[f"ankle_{side}"] - j[f"knee_{side}"]
        fb = np.cross(normalize(j[f"toe_{side}"] - j[f"ankle_{side}"]), normalize(shin))
        return _bend(j[f"knee_{side}"] - j[f"hip_{side}"], shin, fb)
    if kind == "foot":
        return j[f"toe_{side}"] - j[f"heel_{side}"]
    if kind == "toe":
        return j[f"ankle_{side}"] - j[f"toe_{side}"]
    raise KeyError(role)


def primary(role: str, j: dict[str, np.ndarray]) -> np.ndarray:
    if role == "pelvis":
        return j["hip_l"] - j["hip_r"]
    h, t = ROLE_JOINTS[role]
    return j[t] - j[h]


def _chain_lateral(role: str, j: dict[str, np.ndarray], f: float) -> np.ndarray:
    """Twist reference along the spine (hip line -> shoulder line) or neck (shoulders -> ears)."""
    lo, hi = (("hip", "shoulder") if role == "spine" else ("shoulder", "ear"))
    return (1 - f) * normalize(j[f"{lo}_l"] - j[f"{lo}_r"]) + f * normalize(j[f"{hi}_l"] - j[f"{hi}_r"])


def _chain_rotations(role: str, bones: list[str], src: CanonicalPose, rest: RestPose,
                     rj: dict[str, np.ndarray]) -> list[np.ndarray]:
    """D per chain bone. When both sides have the same number of non-degenerate segments (CMU onto a
    CMU rig), each segment is matched. Otherwise the chain's chord is matched and the twist from the
    bottom reference to the top one is spread along the bones, which keeps the rig's rest curvature.
    Zero-length segments (CMU's Spine1 -> Neck) carry no direction and always take the chord rule."""
    n = len(bones)
    sp = src.chain_points(role)
    rp = rest_chain(rest, bones, rj[ROLE_JOINTS[role][1]])
    fr = [(i + 1) / n for i in range(n)]
    chord_s, chord_r = sp[-1] - sp[0], rp[-1] - rp[0]
    tiny = 1e-3 * float(np.linalg.norm(chord_r))
    src_segs = [sp[k + 1] - sp[k] for k in range(len(sp) - 1)]
    src_segs = [v for v in src_segs if np.nanmedian(np.linalg.norm(v, axis=-1)) > 1e-3 * np.nanmedian(
        np.linalg.norm(chord_s, axis=-1))]
    rest_ok = [bool(np.linalg.norm(rp[i + 1] - rp[i]) > tiny) for i in range(n)]
    paired = len(src_segs) == sum(rest_ok)
    base = frame(chord_s, _chain_lateral(role, src.joints, 0.0)) @ frame(chord_r, _chain_lateral(role, rj, 0.0)).T
    top = frame(chord_s, _chain_lateral(role, src.joints, 1.0)) @ frame(chord_r, _chain_lateral(role, rj, 1.0)).T
    rel = top @ np.swapaxes(base, -1, -2)  # a rotation about the source chord
    axis = normalize(chord_s)
    skew = np.stack([rel[..., 2, 1] - rel[..., 1, 2], rel[..., 0, 2] - rel[..., 2, 0],
                     rel[..., 1, 0] - rel[..., 0, 1]], -1)
    phi = np.arctan2(np.sum(skew * axis, -1) / 2, (np.trace(rel, axis1=-2, axis2=-1) - 1) / 2)
    out: list[np.ndarray] = []
    k = 0
    for i in range(n):
        if paired and rest_ok[i]:
            lat_s, lat_r = _chain_lateral(role, src.joints, fr[i]), _chain_lateral(role, rj, fr[i])
            out.append(frame(src_segs[k], lat_s) @ frame(rp[i + 1] - rp[i], lat_r).T)
            k += 1
        else:
            out.append(axis_angle(axis, fr[i] * phi) @ base)
    return out


def solve(src: CanonicalPose, rest: RestPose, mapping: dict[str, list[str]], root_motion: str | None = None,
          foot_lock: bool = True, lock_options: dict | None = None, up: np.ndarray | None = None,
          contacts: dict[str, np.ndarray] | None = None, floor: float | None = None) -> Solution:
    """Solve every frame of `src` (already in the armature's space and axes) onto `rest` through `mapping`
    (role -> bone names). Root travel is scaled by target/source leg length. `up` is the world's up axis
    in armature space (default +Z), for the foot contacts' heights; `contacts` ("L"/"R" -> (T,) bool), when
    given, are the feet to lock (the Motion's own), else they are detected here; `floor`, the ground's
    height along `up` in `src`'s space, is where locked feet are planted (None: where they stand)."""
    T = src.num_frames
    rj = rest_joints(rest, mapping)
    scale = float(leg_length(rj)) / float(np.nanmedian(leg_length(src.joints)))
    sj = {k: v * scale for k, v in src.joints.items()}
    fingers = any(role in FINGER_ROLES for role in mapping)
    if fingers:
        rj.update(rest_finger_joints(rest, mapping))
        palm_hand_references(sj, rj, src.weights)
    ssrc = CanonicalPose(sj, src.fps, src.chains, src.weights)
    D: dict[str, np.ndarray] = {}
    for role, bones in mapping.items():
        if role not in ROLE_JOINTS or not bones:
            continue
        if role in CHAIN_ROLES:
            for b, d in zip(bones, _chain_rotations(role, bones, ssrc, rest, rj)):
                D[b] = d
            continue
        d = frame(primary(role, sj), secondary(role, sj)) @ frame(primary(role, rj), secondary(role, rj)).T
        for b in bones:
            D[b] = d
    if fingers:
        parent_of = {n: (rest.names[p] if p >= 0 else None) for n, p in zip(rest.names, rest.parents)}
        solve_fingers(D, parent_of, sj, rj, mapping, src.weights)
    B = len(rest.names)
    full = np.zeros((T, B, 3, 3))
    for i, name in enumerate(rest.names):
        p = rest.parents[i]
        full[:, i] = D[name] if name in D else (full[:, p] if p >= 0 else np.eye(3))
    # root placement: move the translation bone so the rig's mid-hip lands on the scaled source mid-hip
    # (the translation bone is the pelvis or an unrotated bone above it, so it moves the pelvis by delta)
    pelvis = rest.index(mapping["pelvis"][0])
    tb = rest.index(root_motion) if root_motion else translation_bone(rest, mapping)
    anchors = detached_bones(rest, mapping)
    delta = sj["hips"] - rest.heads[pelvis] - (full[:, pelvis] @ (rj["hips"] - rest.heads[pelvis]))
    heads = fk_heads(rest, full, tb, delta, anchors)
    out = Solution({}, rest.names[tb], delta @ rest.matrices[tb], src.fps, scale)
    if foot_lock:
        full, heads, out.contacts = lock_feet(ssrc, rest, mapping, full, heads, tb, delta, anchors=anchors,
                                              up=up, given=contacts, floor=None if floor is None else floor * scale,
                                              **(lock_options or {}))
    out.locations = detached_locations(rest, full, heads, anchors)
    for i, name in enumerate(rest.names):
        p = rest.parents[i]
        R = rest.matrices[i]
        relm = full[:, i] if p < 0 else np.swapaxes(full[:, p], -1, -2) @ full[:, i]
        if name in D:
            out.quats[name] = continuous(matrix_to_quat(R.T @ relm @ R))
    out.world = {n: full[:, i] for i, n in enumerate(rest.names)}
    out.heads = heads
    return out
