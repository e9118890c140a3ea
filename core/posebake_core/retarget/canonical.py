"""The canonical humanoid: named joint positions that every source and every rig is reduced to.

Sources (the 33 BlazePose landmarks, a CMU BVH skeleton) and target rigs speak different joint languages;
the solver only speaks this one. A canonical pose is a dict of joint -> positions (T,3) (Z up, any unit)
plus *chains*: the spine and neck as polylines, because sources disagree on how many vertebra joints
they have (BlazePose none, CMU three) and the solver matches as much of the curve as both sides hold.

Roles are the canonical bones a rig preset maps to: each spans a head joint and a tail joint.
Points some sources lack (heel, ears, thumb for CMU; head top for BlazePose) are synthesised from the
body's own axes at a size proportional to the leg, so a rig in its rest pose and a source in the same
pose produce the same canonical points.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..rot import normalize
from ..skeleton import BLAZEPOSE_JOINTS

SIDES = ("l", "r")
#: role -> (head joint, tail joint). Side roles end in ".L"/".R"; their joints end in "_l"/"_r".
ROLE_JOINTS: dict[str, tuple[str, str]] = {
    "pelvis": ("hips", "spine_base"), "spine": ("spine_base", "neck"), "neck": ("neck", "head_base"),
    "head": ("head_base", "head_top"),
}
for _s in SIDES:
    _S = _s.upper()
    ROLE_JOINTS.update({
        f"clavicle.{_S}": (f"clavicle_{_s}", f"shoulder_{_s}"),
        f"upper_arm.{_S}": (f"shoulder_{_s}", f"elbow_{_s}"), f"forearm.{_S}": (f"elbow_{_s}", f"wrist_{_s}"),
        f"hand.{_S}": (f"wrist_{_s}", f"hand_tip_{_s}"),
        f"thigh.{_S}": (f"hip_{_s}", f"knee_{_s}"), f"shin.{_S}": (f"knee_{_s}", f"ankle_{_s}"),
        f"foot.{_S}": (f"ankle_{_s}", f"toe_{_s}"), f"toe.{_S}": (f"toe_{_s}", f"toe_tip_{_s}"),
    })
ROLES: tuple[str, ...] = tuple(ROLE_JOINTS)
CHAIN_ROLES = ("spine", "neck")
#: role -> the roles whose last bone carries its head joint, in order of preference (a clavicle may be
#: unmapped: the upper arm then hangs from the chest). A rig whose bone for a role does not descend from
#: that bone (an IK-style foot parented to the root, thighs parented beside the pelvis) has its head
#: driven by location keys to where the chain puts it.
ANCHOR_ROLES: dict[str, tuple[str, ...]] = {"spine": ("pelvis",), "neck": ("spine",), "head": ("neck", "spine")}
for _s in SIDES:
    _S = _s.upper()
    ANCHOR_ROLES.update({
        f"clavicle.{_S}": ("spine",), f"upper_arm.{_S}": (f"clavicle.{_S}", "spine"),
        f"forearm.{_S}": (f"upper_arm.{_S}",), f"hand.{_S}": (f"forearm.{_S}",), f"thigh.{_S}": ("pelvis",),
        f"shin.{_S}": (f"thigh.{_S}",), f"foot.{_S}": (f"shin.{_S}",), f"toe.{_S}": (f"foot.{_S}",),
    })
#: roles whose bones must move with the root (the translated bone is their deepest common ancestor)
TRUNK_ROLES = ("pelvis", "spine", "thigh.L", "thigh.R")


@dataclass
class CanonicalPose:
    """Canonical joints over T frames, Z up. `chains[role]` lists the joints of the spine/neck curves."""

    joints: dict[str, np.ndarray]
    fps: float
    chains: dict[str, list[str]] = field(default_factory=dict)
    #: per side ("l"/"r") the hands' blend weights (T,) for the finger joints (`fingers.confidence_weights`);
    #: empty when the source has no hands
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(next(iter(self.joints.values())).shape[0])

    def transformed(self, m: np.ndarray) -> "CanonicalPose":
        """All joints mapped by the 4x4 affine `m` (e.g. world -> armature space)."""
        out = {k: v @ m[:3, :3].T + m[:3, 3] for k, v in self.joints.items()}
        return CanonicalPose(out, self.fps, {k: list(v) for k, v in self.chains.items()}, dict(self.weights))

    def chain_points(self, role: str) -> list[np.ndarray]:
        return [self.joints[j] for j in self.chains.get(role, list(ROLE_JOINTS[role]))]


def body_axes(j: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left, forward, up) unit vectors of the trunk: up hips->neck, left from the hip line.
    With Z up and the subject facing -Y (Blender's front), left is +X and forward -Y."""
    up = normalize(j["neck"] - j["hips"])
    left = normalize(j["hip_l"] - j["hip_r"])
    fwd = normalize(np.cross(left, up))
    left = np.cross(up, fwd)
    return left, fwd, up


def leg_length(j: dict[str, np.ndarray]) -> np.ndarray:
    """Mean hip-knee-ankle length of both legs, per frame (or a scalar for a rest pose)."""
    out = 0.0
    for s in SIDES:
        out = out + np.linalg.norm(j[f"knee_{s}"] - j[f"hip_{s}"], axis=-1) \
            + np.linalg.norm(j[f"ankle_{s}"] - j[f"knee_{s}"], axis=-1)
    return out / 2


def synthesize_missing(j: dict[str, np.ndarray]) -> None:
    """Fill ears, nose, heels, thumbs, hand tips, head top and clavicles that `j` lacks, in place,
    from the trunk axes. Offsets scale with leg length so units do not matter."""
    left, fwd, up = body_axes(j)
    size = leg_length(j)[..., None]
    if "head_base" not in j:
        j["head_base"] = j["neck"] + 0.12 * size * up
    if "head_top" not in j:
        j["head_top"] = j["head_base"] + 0.25 * size * up
    for s, sign in (("l", 1.0), ("r", -1.0)):
        j.setdefault(f"ear_{s}", j["head_base"] + sign * 0.09 * size * left + 0.08 * size * up)
        j.setdefault(f"clavicle_{s}", j["neck"])
        if f"wrist_{s}" in j:
            if f"hand_tip_{s}" not in j:
                j[f"hand_tip_{s}"] = j[f"wrist_{s}"] + 0.1 * size * normalize(j[f"wrist_{s}"] - j[f"elbow_{s}"])
            j.setdefault(f"thumb_{s}", j[f"wrist_{s}"] + 0.06 * size * fwd)
        if f"ankle_{s}" in j:
            j.setdefault(f"heel_{s}", j[f"ankle_{s}"] - 0.07 * size * up - 0.06 * size * fwd)
            j.setdefault(f"toe_{s}", j[f"ankle_{s}"] + 0.17 * size * fwd - 0.07 * size * up)
            j.setdefault(f"toe_tip_{s}", j[f"toe_{s}"] + 0.07 * size * fwd)
    j.setdefault("nose", j["head_base"] + 0.1 * size * up + 0.12 * size * fwd)


def from_blazepose(world: np.ndarray, fps: float, names: tuple[str, ...] | None = None) -> CanonicalPose:
    """Canonical joints from BlazePose landmarks already in a Z-up world frame: (T,33,3)."""
    from_names = names or BLAZEPOSE_JOINTS
    idx = {n: i for i, n in enumerate(from_names)}
    lm = {n: world[:, i] for n, i in idx.items()}
    j: dict[str, np.ndarray] = {}
    for s, side in (("l", "left"), ("r", "right")):
        for ours, theirs in (("shoulder", "shoulder"), ("elbow", "elbow"), ("wrist", "wrist"), ("hip", "hip"),
                             ("knee", "knee"), ("ankle", "ankle"), ("heel", "heel"), ("thumb", "thumb"),
                             ("ear", "ear")):
            j[f"{ours}_{s}"] = lm[f"{side}_{theirs}"]
        j[f"hand_tip_{s}"] = (lm[f"{side}_index"] + lm[f"{side}_pinky"]) / 2
        tip = lm[f"{side}_foot_index"]
        j[f"toe_{s}"] = tip + 0.3 * (lm[f"{side}_heel"] - tip)  # ball of the foot, 30% back from the tip
        j[f"toe_tip_{s}"] = tip
    j["nose"] = lm["nose"]
    j["hips"] = (j["hip_l"] + j["hip_r"]) / 2
    j["neck"] = (j["shoulder_l"] + j["shoulder_r"]) / 2
    j["spine_base"] = j["hips"] + 0.1 * (j["neck"] - j["hips"])
    mid_ear = (j["ear_l"] + j["ear_r"]) / 2
    head_up = normalize(np.cross(j["nose"] - mid_ear, j["ear_l"] - j["ear_r"]))
    ear_w = np.linalg.norm(j["ear_l"] - j["ear_r"], axis=-1, keepdims=True)
    j["head_base"] = mid_ear - 0.5 * ear_w * head_up
    j["head_top"] = mid_ear + 1.2 * ear_w * head_up
    synthesize_missing(j)
    return CanonicalPose(j, fps, {"spine": ["spine_base", "neck"], "neck": ["neck", "head_base"]})


#: canonical joint <- lifter joint centre (skeleton.CENTRE_JOINTS) for `from_centres`.
CENTRE_SOURCES: dict[str, str] = {
    "spine_base": "pelvis", "spine_1": "spine", "spine_2": "chest", "neck": "neck", "head_base": "head",
}
for _s, _side in (("l", "left"), ("r", "right")):
    CENTRE_SOURCES.update({f"{p}_{_s}": f"{_side}_{p}" for p in ("hip", "knee", "ankle", "toe", "shoulder", "elbow",
                                                                  "wrist")})
#: points joint centres lack, taken from the landmarks relative to the landmark point they hang from
#: (a hand tip hangs from the wrist), then hung from that point's joint centre.
LANDMARK_EXTRAS: dict[str, str] = {"nose": "head_base", "head_top": "head_base"}
for _s in SIDES:
    LANDMARK_EXTRAS.update({f"ear_{_s}": "head_base", f"hand_tip_{_s}": f"wrist_{_s}", f"thumb_{_s}": f"wrist_{_s}",
                            f"heel_{_s}": f"ankle_{_s}", f"toe_tip_{_s}": f"ankle_{_s}"})


def from_centres(centres: np.ndarray, names: tuple[str, ...], landmarks: np.ndarray, fps: float) -> CanonicalPose:
    """Canonical joints from the lifter's joint centres (T,S,3) and the same track's BlazePose landmarks
    (T,33,3), both in one Z-up world frame. The centres are the points a rig rotates about, so the trunk,
    limbs and spine chain come from them (as `from_cmu` does from a CMU skeleton); the hand and foot tips,
    heels, ears and nose, which only the landmarks have, keep their offset from the landmark they hang from.
    The clavicles start at the neck base, where a CMU skeleton's do."""
    idx = {n: i for i, n in enumerate(names)}
    missing = sorted(set(CENTRE_SOURCES.values()) - set(idx))
    if missing:
        raise ValueError(f"joint centres lack {', '.join(missing)}")
    j = {ours: centres[:, idx[theirs]] for ours, theirs in CENTRE_SOURCES.items()}
    lm = from_blazepose(landmarks, fps).joints
    for extra, anchor in LANDMARK_EXTRAS.items():
        j[extra] = j[anchor] + (lm[extra] - lm[anchor])
    j["hips"] = (j["hip_l"] + j["hip_r"]) / 2
    synthesize_missing(j)
    return CanonicalPose(j, fps, {"spine": ["spine_base", "spine_1", "spine_2", "neck"],
                                  "neck": ["neck", "head_base"]})


#: canonical joint -> candidate joint names in the two cgspeed CMU BVH namings (first found wins).
CMU_JOINTS: dict[str, tuple[str, ...]] = {
    "spine_base": ("LowerBack", "lowerback"), "spine_1": ("Spine", "Chest"), "spine_2": ("Spine1", "Chest2"),
    "neck": ("Neck", "lowerneck"), "neck_1": ("Neck1", "Neck"), "head_base": ("Head",), "head_top": ("Head_End",),
}
for _s, _side, _x in (("l", "Left", "L"), ("r", "Right", "R")):
    CMU_JOINTS.update({
        f"hip_{_s}": (f"{_side}UpLeg", f"{_side}Hip"), f"knee_{_s}": (f"{_side}Leg", f"{_side}Knee"),
        f"ankle_{_s}": (f"{_side}Foot", f"{_side}Ankle"), f"toe_{_s}": (f"{_side}ToeBase", f"{_side}Toe"),
        f"toe_tip_{_s}": (f"{_side}ToeBase_End", f"{_side}Toe_End"),
        f"clavicle_{_s}": (f"{_side}Shoulder", f"{_side}Collar"), f"shoulder_{_s}": (f"{_side}Arm", f"{_side}Shoulder"),
        f"elbow_{_s}": (f"{_side}ForeArm", f"{_side}Elbow"), f"wrist_{_s}": (f"{_side}Hand", f"{_side}Wrist"),
        f"hand_tip_{_s}": (f"{_side}HandIndex1", f"{_x}Fingers"), f"thumb_{_s}": (f"{_x}Thumb_End",),
    })


def from_cmu(names: list[str], positions: np.ndarray, rotations: np.ndarray, fps: float) -> CanonicalPose:
    """Canonical joints from CMU BVH forward kinematics already in Z-up axes.

    `positions` (T,J,3) and global `rotations` (T,J,3,3) per BVH joint. The 3dsMax-friendly naming reuses
    names with other meanings (its "LeftShoulder" is the upper arm, "Neck" the upper neck), so the
    naming is detected first and each canonical joint takes the candidate of that naming.
    """
    alt = 1 if ("LeftHip" in names or "LeftCollar" in names) else 0
    idx = {n: i for i, n in enumerate(names)}
    j: dict[str, np.ndarray] = {}
    rot: dict[str, np.ndarray] = {}
    for ours, cands in CMU_JOINTS.items():
        name = cands[alt] if len(cands) > alt and cands[alt] in idx else next((c for c in cands if c in idx), None)
        if name is None:
            continue
        j[ours] = positions[:, idx[name]]
        rot[ours] = rotations[:, idx[name]]
    j["hips"] = (j["hip_l"] + j["hip_r"]) / 2
    # ears, heels and thumbs ride on their bone's global rotation (rest axes: facing -Y, left +X, up +Z),
    # so they are rigid with the skeleton exactly as a rig's synthesised rest points are.
    size = float(np.median(leg_length(j)))
    for s, sign in (("l", 1.0), ("r", -1.0)):
        j[f"ear_{s}"] = j["head_base"] + rot["head_base"] @ (np.array([sign * 0.09, 0, 0.08]) * size)
        j[f"heel_{s}"] = j[f"ankle_{s}"] + rot[f"ankle_{s}"] @ (np.array([0, 0.06, -0.07]) * size)
        if f"thumb_{s}" not in j:
            j[f"thumb_{s}"] = j[f"wrist_{s}"] + rot[f"wrist_{s}"] @ (np.array([0, -0.06, 0]) * size)
    j["nose"] = j["head_base"] + rot["head_base"] @ (np.array([0, -0.12, 0.1]) * size)
    synthesize_missing(j)
    spine = [k for k in ("spine_base", "spine_1", "spine_2", "neck") if k in j]
    neck = [k for k in ("neck", "neck_1", "head_base") if k in j]
    return CanonicalPose(j, fps, {"spine": spine, "neck": neck})
