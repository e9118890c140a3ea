"""A BVH rest skeleton built from one track, and the track solved onto it by the add-on's own solver.

BVH animates rotations of rigid bones, while the Motion holds free landmark positions whose distances
wobble from frame to frame. So the exporter does what the Blender bake does: it builds a rig (here a
20-bone CMU-named skeleton whose bone lengths are the track's medians), maps the same canonical roles onto
it, and runs `solve.solve` on the same canonical pose (`prepare.motion_to_canonical`: camera pan removed,
floor-aligned Z-up world). Every exporter and the add-on therefore agree on root motion and rotations,
and FK of the file reproduces every bone direction the solver matches (swing) and the root exactly.

Rest layout: the template adult of `skeleton.standing_pose` in the Z-up world (facing -Y, left at +X), each
segment laid along the template's direction at the track's median length (a segment never seen keeps the
template's length scaled by leg length). Both hips sit at the same distance from their centre, and both
shoulders from theirs, so the rig's mid-hip and neck are where the canonical skeleton puts them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..rot import frame, normalize
from ..skeleton import standing_pose
from .armature import RestPose
from .canonical import SIDES, CanonicalPose, from_blazepose, leg_length
from .solve import Solution, solve

#: joint -> parent joint of the rest layout (order: parents first)
JOINT_TREE: dict[str, str | None] = {"hips": None, "spine_base": "hips", "neck": "spine_base",
                                     "head_base": "neck", "head_top": "head_base"}
for _s in SIDES:
    JOINT_TREE.update({f"shoulder_{_s}": "neck", f"elbow_{_s}": f"shoulder_{_s}", f"wrist_{_s}": f"elbow_{_s}",
                       f"hand_tip_{_s}": f"wrist_{_s}", f"hip_{_s}": "hips", f"knee_{_s}": f"hip_{_s}",
                       f"ankle_{_s}": f"knee_{_s}", f"toe_{_s}": f"ankle_{_s}", f"toe_tip_{_s}": f"toe_{_s}"})

#: BVH bone -> (parent bone, head joint, tail joint, role); CMU names, as most BVH tools expect
BONES: dict[str, tuple[str | None, str, str, str]] = {
    "Hips": (None, "hips", "spine_base", "pelvis"), "Spine": ("Hips", "spine_base", "neck", "spine"),
    "Neck": ("Spine", "neck", "head_base", "neck"), "Head": ("Neck", "head_base", "head_top", "head"),
}
for _s, _side in (("l", "Left"), ("r", "Right")):
    _S = _s.upper()
    BONES.update({
        f"{_side}Shoulder": ("Spine", "neck", f"shoulder_{_s}", f"clavicle.{_S}"),
        f"{_side}Arm": (f"{_side}Shoulder", f"shoulder_{_s}", f"elbow_{_s}", f"upper_arm.{_S}"),
        f"{_side}ForeArm": (f"{_side}Arm", f"elbow_{_s}", f"wrist_{_s}", f"forearm.{_S}"),
        f"{_side}Hand": (f"{_side}ForeArm", f"wrist_{_s}", f"hand_tip_{_s}", f"hand.{_S}"),
        f"{_side}UpLeg": ("Hips", f"hip_{_s}", f"knee_{_s}", f"thigh.{_S}"),
        f"{_side}Leg": (f"{_side}UpLeg", f"knee_{_s}", f"ankle_{_s}", f"shin.{_S}"),
        f"{_side}Foot": (f"{_side}Leg", f"ankle_{_s}", f"toe_{_s}", f"foot.{_S}"),
        f"{_side}Toe": (f"{_side}Foot", f"toe_{_s}", f"toe_tip_{_s}", f"toe.{_S}"),
    })
MAPPING: dict[str, list[str]] = {role: [bone] for bone, (_p, _h, _t, role) in BONES.items()}
#: pairs laid symmetrically about their centre joint: (centre, left, right)
_SYMMETRIC = (("hips", "hip_l", "hip_r"), ("neck", "shoulder_l", "shoulder_r"))


@dataclass
class BvhSolve:
    """A track solved onto its BVH skeleton (Z-up world, metres): the rest pose, the world rotations D
    (T,3,3) per bone (rest -> frame t; a bone whose landmarks are missing takes its parent's), and the
    root (Hips head) per frame."""

    rest: RestPose
    world: dict[str, np.ndarray]
    root: np.ndarray
    solution: Solution


def _template() -> dict[str, np.ndarray]:
    """Canonical joints of the template adult in the Z-up world (facing -Y, left at +X)."""
    cam = standing_pose()[None]  # (1,33,3) camera axes: x right, y down, z away; facing the camera
    # camera -> Z-up world facing -Y: (x, y, z) -> (x, z, -y); the subject's left (+x in the image's
    # right half) stays +X, which is Blender's left for a character facing -Y
    zup = np.stack([cam[..., 0], cam[..., 2], -cam[..., 1]], -1)
    return {k: v[0] for k, v in from_blazepose(zup, 30.0).joints.items()}


def _median_length(v: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a segment never seen: all-NaN slice
        n = float(np.nanmedian(np.linalg.norm(v, axis=-1)))
    return n if np.isfinite(n) and n > 1e-6 else float("nan")


def rest_joints_for(canon: CanonicalPose) -> dict[str, np.ndarray]:
    """Rest joint positions (Z-up metres): template directions, the track's median segment lengths."""
    tpl = _template()
    src_leg = float(np.nanmedian(leg_length(canon.joints)))
    k = src_leg / float(leg_length(tpl)) if np.isfinite(src_leg) and src_leg > 0 else 1.0
    lengths = {j: _median_length(canon.joints[j] - canon.joints[p]) for j, p in JOINT_TREE.items() if p}
    for centre, left, right in _SYMMETRIC:  # one half-width for both sides
        half = _median_length((canon.joints[left] - canon.joints[right]) / 2)
        lengths[left] = lengths[right] = half
    lengths = {j: v if np.isfinite(v) else k * float(np.linalg.norm(tpl[j] - tpl[JOINT_TREE[j]]))
               for j, v in lengths.items()}
    # the solver scales root travel by rig/source leg length: stretch thighs and shins (by well under 1 %,
    # the gap between a median of sums and a sum of medians) so that ratio is exactly 1
    legs = np.mean([lengths[f"knee_{s}"] + lengths[f"ankle_{s}"] for s in SIDES])
    if np.isfinite(src_leg) and src_leg > 0:
        for s in SIDES:
            lengths[f"knee_{s}"] *= src_leg / legs
            lengths[f"ankle_{s}"] *= src_leg / legs
    out: dict[str, np.ndarray] = {"hips": tpl["hips"] * k}
    for j, p in JOINT_TREE.items():
        if p is not None:
            out[j] = out[p] + normalize(tpl[j] - tpl[p]) * lengths[j]
    return out


def rest_pose(joints: dict[str, np.ndarray]) -> RestPose:
    """The BVH skeleton as a `RestPose` (each bone's rest matrix has y along the bone, as Blender's)."""
    names = list(BONES)
    heads = np.array([joints[BONES[b][1]] for b in names])
    tails = np.array([joints[BONES[b][2]] for b in names])
    up = np.array([0.0, 0.0, 1.0])
    mats = []
    for h, t in zip(heads, tails):
        d = t - h
        side = np.array([1.0, 0.0, 0.0]) if abs(normalize(d) @ np.array([1.0, 0, 0])) < 0.9 else up
        mats.append(frame(d, side))
    return RestPose.from_parent_names(names, [BONES[b][0] for b in names], heads, tails, np.array(mats))


def solve_track(canon: CanonicalPose, foot_lock: bool = False,
                contacts: dict[str, np.ndarray] | None = None) -> BvhSolve:
    """Solve `canon` onto a BVH skeleton made from its own median bone lengths (see module docstring).

    Foot lock is off by default: a BVH is a record of the estimate, so its limb directions stay the
    Motion's; `foot_lock=True` pins planted feet as the Blender bake does (the Motion's own `contacts`
    when given)."""
    rest = rest_pose(rest_joints_for(canon))
    sol = solve(canon, rest, MAPPING, root_motion="Hips", foot_lock=foot_lock, contacts=contacts, floor=0.0)
    world: dict[str, np.ndarray] = {}
    T = canon.num_frames
    for i, name in enumerate(rest.names):  # parents precede children
        d = np.array(sol.world[name])
        p = rest.parents[i]
        inherit = world[rest.names[p]] if p >= 0 else np.broadcast_to(np.eye(3), (T, 3, 3))
        bad = ~np.isfinite(d).all(axis=(1, 2))
        d[bad] = inherit[bad]
        world[name] = d
    root = sol.heads[:, rest.index("Hips")] if sol.heads is not None else canon.joints["hips"]
    return BvhSolve(rest, world, np.asarray(root, dtype=np.float64), sol)
