"""Export one track of a Motion as a BVH skeleton animation (metres, Y-up, rotations solved from positions).

Why a derived skeleton: BVH animates rotations of rigid bones, while the Motion holds 33 free landmark
positions whose distances wobble from frame to frame. We build a clean 19-joint hierarchy on the landmarks
(hips at mid-hip, spine to mid-shoulder, neck to mid-ear, head to nose, clavicles, arms, hands to the
index/pinky midpoint, legs, feet to foot_index) with each bone's length fixed to the track's median, then
solve each joint's rotation so its bone points exactly where the landmarks say: a *swing* taking the rest
direction onto the observed one and a *twist* fixed by a secondary axis (hip line for the pelvis, shoulder
line for the spine, ear line for neck and head, the limb plane's normal for arms and legs, pinky-to-index
for hands, heel-to-ankle for feet). FK of the file therefore reproduces every bone direction and the root
position exactly; only lengths are regularised.

Axes: OpenCV camera axes (x right, y down, z forward) become a Y-up world by a 180 degree turn about x:
(x, y, z) -> (x, -y, -z). A person facing the camera faces +Z with their left at +X, the usual BVH rest.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from posebake_core.atomic import atomic_path
from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from posebake_core.skeleton import JOINT_INDEX

EULER_ORDER = "ZXY"  # channel order written to the file; R_local = Rz @ Rx @ Ry
_X, _Y, _Z = np.eye(3)
_BLEND = 0.05  # weight of the inherited twist reference when a secondary axis degenerates


@dataclass(frozen=True)
class JointSpec:
    """One BVH joint: it sits at point `head` and its rotation aims the bone to point `aim`."""

    name: str
    parent: str | None
    head: str
    aim: str
    rest_dir: np.ndarray
    secondary: str  # key into _secondaries()
    rest_secondary: np.ndarray
    end_site: bool = False  # the aim point is an End Site, not another joint
    mirrored: bool = False  # head is the parent's aim reflected through the parent's head (right hip)


def _limb(side: str, sign: float) -> list[JointSpec]:
    s, S = side[0].lower(), side
    arm_n = np.cross(sign * _X, _Z)  # rest limb-plane normal: arm along +-X, forearm bends to +Z
    return [
        JointSpec(f"{S}UpLeg", "Hips", f"{s}_hip", f"{s}_knee", -_Y, f"{s}_leg_n", _X, mirrored=sign < 0),
        JointSpec(f"{S}Leg", f"{S}UpLeg", f"{s}_knee", f"{s}_ankle", -_Y, f"{s}_leg_n", _X),
        JointSpec(f"{S}Foot", f"{S}Leg", f"{s}_ankle", f"{s}_toe", _Z, f"{s}_foot_up", _Y, True),
        JointSpec(f"{S}Shoulder", "Spine", "mid_sh", f"{s}_sh", sign * _X, "up", _Y),
        JointSpec(f"{S}Arm", f"{S}Shoulder", f"{s}_sh", f"{s}_elbow", sign * _X, f"{s}_arm_n", arm_n),
        JointSpec(f"{S}ForeArm", f"{S}Arm", f"{s}_elbow", f"{s}_wrist", sign * _X, f"{s}_arm_n", arm_n),
        JointSpec(f"{S}Hand", f"{S}ForeArm", f"{s}_wrist", f"{s}_hand", sign * _X, f"{s}_palm", _Z, True),
    ]


SKELETON: tuple[JointSpec, ...] = (
    JointSpec("Hips", None, "mid_hip", "l_hip", _X, "up", _Y),
    JointSpec("Spine", "Hips", "mid_hip", "mid_sh", _Y, "shoulder_line", _X),
    JointSpec("Neck", "Spine", "mid_sh", "mid_ear", _Y, "ear_line", _X),
    JointSpec("Head", "Neck", "mid_ear", "nose", _Z, "ear_line", _X, True),
    *_limb("Left", 1.0), *_limb("Right", -1.0),
)
_BY_NAME = {j.name: j for j in SKELETON}
# secondaries that are limb-plane normals (cross products, length ~ L1*L2, zero for a straight limb)
_NORMALS = {"l_leg_n", "r_leg_n", "l_arm_n", "r_arm_n"}


def _points(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Named (T,3) points in the Y-up world from BlazePose joints (T,33,3) in camera axes."""
    world = joints * np.array([1.0, -1.0, -1.0])
    g = {name: world[:, i] for name, i in JOINT_INDEX.items()}
    p = {"mid_hip": (g["left_hip"] + g["right_hip"]) / 2, "mid_sh": (g["left_shoulder"] + g["right_shoulder"]) / 2,
         "mid_ear": (g["left_ear"] + g["right_ear"]) / 2, "nose": g["nose"]}
    for s, side in (("l", "left"), ("r", "right")):
        p.update({f"{s}_hip": g[f"{side}_hip"], f"{s}_knee": g[f"{side}_knee"], f"{s}_ankle": g[f"{side}_ankle"],
                  f"{s}_toe": g[f"{side}_foot_index"], f"{s}_heel": g[f"{side}_heel"],
                  f"{s}_sh": g[f"{side}_shoulder"], f"{s}_elbow": g[f"{side}_elbow"],
                  f"{s}_wrist": g[f"{side}_wrist"], f"{s}_index": g[f"{side}_index"],
                  f"{s}_pinky": g[f"{side}_pinky"], f"{s}_ear": g[f"{side}_ear"],
                  f"{s}_hand": (g[f"{side}_index"] + g[f"{side}_pinky"]) / 2})
    return p


def _secondaries(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sec = {"up": p["mid_sh"] - p["mid_hip"], "shoulder_line": p["l_sh"] - p["r_sh"],
           "ear_line": p["l_ear"] - p["r_ear"]}
    for s in ("l", "r"):
        sec[f"{s}_leg_n"] = np.cross(p[f"{s}_knee"] - p[f"{s}_hip"], p[f"{s}_ankle"] - p[f"{s}_knee"])
        sec[f"{s}_arm_n"] = np.cross(p[f"{s}_elbow"] - p[f"{s}_sh"], p[f"{s}_wrist"] - p[f"{s}_elbow"])
        sec[f"{s}_foot_up"] = p[f"{s}_ankle"] - p[f"{s}_heel"]
        sec[f"{s}_palm"] = p[f"{s}_index"] - p[f"{s}_pinky"]
    return sec


def fill_gaps(joints: np.ndarray) -> np.ndarray:
    """Fill NaN frames per joint coordinate: linear between observations, held before the first and
    after the last. A joint never observed stays NaN (its bone then inherits the parent's rotation)."""
    out = np.array(joints, dtype=np.float64)
    T = out.shape[0]
    t = np.arange(T)
    flat = out.reshape(T, -1)
    for c in range(flat.shape[1]):
        ok = np.isfinite(flat[:, c])
        if ok.any() and not ok.all():
            flat[:, c] = np.interp(t, t[ok], flat[ok, c])
    return flat.reshape(out.shape)


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """(T,3,3) rotation with columns (primary, secondary made orthogonal, their cross product)."""
    e1 = primary / np.linalg.norm(primary, axis=-1, keepdims=True)
    s = secondary - np.sum(secondary * e1, axis=-1, keepdims=True) * e1
    e2 = s / np.linalg.norm(s, axis=-1, keepdims=True)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _median_length(v: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        length = float(np.nanmedian(np.linalg.norm(v, axis=-1)))
    return length if np.isfinite(length) and length > 1e-6 else 0.0


def solve_skeleton(joints_cam: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                    np.ndarray]:
    """From BlazePose joints (T,33,3) in camera axes, solve the BVH skeleton.

    Returns (offsets, global_rotations, root_positions): rest offsets (3,) per joint name and
    `"<name>_end"` for end sites (metres, Y-up), global rotations (T,3,3) per joint, and the root (T,3).
    """
    joints = fill_gaps(joints_cam)
    p = _points(joints)
    sec = _secondaries(p)
    if not np.isfinite(p["mid_hip"]).all():
        raise PoseBakeError("the track never shows both hips, so it has no root to export")
    T = joints.shape[0]
    seen = _points(np.asarray(joints_cam, dtype=np.float64))  # lengths from observed frames only
    lengths = {j.name: _median_length(seen[j.aim] - seen[j.head]) for j in SKELETON}
    offsets: dict[str, np.ndarray] = {}
    rotations: dict[str, np.ndarray] = {}
    limb_planes: dict[str, np.ndarray] = {}
    for j in SKELETON:
        parent_rot = rotations[j.parent] if j.parent else np.broadcast_to(np.eye(3), (T, 3, 3))
        offsets[j.name] = np.zeros(3)  # the root, and joints sharing their parent's head (Spine)
        if j.parent is not None and j.head != _BY_NAME[j.parent].head:
            sign = -1.0 if j.mirrored else 1.0
            offsets[j.name] = sign * _BY_NAME[j.parent].rest_dir * lengths[j.parent]
        if j.end_site:
            offsets[f"{j.name}_end"] = j.rest_dir * lengths[j.name]
        # twist reference inherited from the parent: what the secondary would be with no local rotation
        inherited = np.einsum("tij,j->ti", parent_rot, j.rest_secondary)
        s = sec[j.secondary]
        if j.secondary in _NORMALS:
            # Upper and lower limb share one secondary vector (computed for the upper bone), so a bent
            # elbow/knee is a hinge about the plane normal. A straight limb has no plane (the normal is
            # landmark noise): the inherited axis fades in as the limb straightens, instead of the twist
            # spinning on noise; with a clear bend its weight is negligible and the hinge stays clean.
            if j.secondary not in limb_planes:
                scale = lengths[j.name] * lengths[_child_of(j.name)]
                n = np.nan_to_num(s / max(scale, 1e-9))  # |n| = sin(bend angle)
                fade = _BLEND ** 2 / (np.sum(n * n, axis=-1, keepdims=True) + _BLEND ** 2)
                limb_planes[j.secondary] = n + _BLEND * fade * inherited
            s_dir = limb_planes[j.secondary]
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                s_dir = np.where(np.isfinite(s).all(axis=-1, keepdims=True), _unit(s), inherited)
        rotations[j.name] = _joint_rotation(j, p[j.aim] - p[j.head], s_dir, parent_rot)
    return offsets, rotations, p["mid_hip"]


def _child_of(name: str) -> str:
    return next(j.name for j in SKELETON if j.parent == name)


def _joint_rotation(j: JointSpec, primary: np.ndarray, secondary: np.ndarray,
                    parent_rot: np.ndarray) -> np.ndarray:
    """Global rotation (T,3,3) mapping the rest frame (rest_dir, rest_secondary) onto the observed one."""
    rest = _frame(j.rest_dir[None], j.rest_secondary[None])[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        R = _frame(primary, secondary) @ rest.T
    bad = ~np.isfinite(R).all(axis=(1, 2))
    if bad.any():  # landmark never seen, or secondary parallel to the bone: no local rotation
        R[bad] = parent_rot[bad]
    return R


def local_eulers(rotations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per joint (T,3) Euler angles in degrees, channel order `EULER_ORDER`, continuous over time."""
    out = {}
    for j in SKELETON:
        R = rotations[j.name]
        if j.parent:
            R = np.swapaxes(rotations[j.parent], 1, 2) @ R
        out[j.name] = continuous_euler(Rotation.from_matrix(R).as_euler(EULER_ORDER, degrees=True))
    return out


def continuous_euler(angles: np.ndarray) -> np.ndarray:
    """Pick, frame by frame, the Tait-Bryan triple (a, b, c) or (a+180, 180-b, c+180), each wrapped by
    multiples of 360, closest to the previous frame, so Blender's F-curves do not jump by 360 degrees."""
    out = np.array(angles, dtype=np.float64)
    for t in range(1, len(out)):
        prev = out[t - 1]
        a, b, c = out[t]
        best = None
        for cand in (np.array([a, b, c]), np.array([a + 180.0, 180.0 - b, c + 180.0])):
            cand = cand + 360.0 * np.round((prev - cand) / 360.0)
            cost = np.abs(cand - prev).sum()
            if best is None or cost < best[0]:
                best = (cost, cand)
        out[t] = best[1]
    return out


def hierarchy_order() -> list[str]:
    """Joint names in the depth-first order of the HIERARCHY block, which is the MOTION column order."""
    order: list[str] = []

    def visit(name: str) -> None:
        order.append(name)
        for j in SKELETON:
            if j.parent == name:
                visit(j.name)

    visit(SKELETON[0].name)
    return order


def _hierarchy_lines(offsets: dict[str, np.ndarray]) -> list[str]:
    children: dict[str | None, list[JointSpec]] = {}
    for j in SKELETON:
        children.setdefault(j.parent, []).append(j)
    rot = " ".join(f"{a}rotation" for a in EULER_ORDER)
    lines = ["HIERARCHY"]

    def emit(j: JointSpec, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if j.parent is None else 'JOINT'} {j.name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {_fmt(offsets[j.name])}")
        lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot}" if j.parent is None
                     else f"{pad}  CHANNELS 3 {rot}")
        for c in children.get(j.name, []):
            emit(c, depth + 1)
        if j.end_site:
            lines.extend([f"{pad}  End Site", f"{pad}  {{",
                          f"{pad}    OFFSET {_fmt(offsets[j.name + '_end'])}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(SKELETON[0], 0)
    return lines


def _fmt(v: np.ndarray) -> str:
    return " ".join(f"{x:.6f}" for x in v)


def export_bvh(motion: Motion, path: str | os.PathLike, track: int = 0) -> Path:
    """Write track position `track` (0 = main subject) of `motion` to `path` atomically; return the path."""
    if not 0 <= track < motion.num_tracks:
        raise PoseBakeError(f"--track {track} is out of range: the motion has {motion.num_tracks} track(s)")
    joints = motion.joints_cam[track].astype(np.float64)
    if not np.isfinite(joints).all(axis=-1).any():
        raise PoseBakeError(f"track {track} has no frame with a 3D pose to export")
    offsets, rotations, root = solve_skeleton(joints)
    eulers = local_eulers(rotations)
    channels = [root] + [eulers[name] for name in hierarchy_order()]
    data = np.concatenate(channels, axis=1)
    if not np.isfinite(data).all():
        raise PoseBakeError(f"track {track}: could not solve a finite pose for every frame")
    lines = _hierarchy_lines(offsets)
    lines += ["MOTION", f"Frames: {len(data)}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    lines += [" ".join(f"{x:.6f}" for x in row) for row in data]
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")
    return target
