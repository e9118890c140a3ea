"""Rotation transfer from a CMU mocap skeleton onto a CMU-named Blender armature (pure numpy).

The target is the shared character ``cmu_skeleton_basemesh_female.glb``: its 31 bones carry the cgspeed
CMU BVH names, its own bone lengths (fitted to the mesh, not those of any BVH) and a rest pose standing
upright with the arms lowered. Sources use three naming schemes (cgspeed BVH, the 3dsMax-friendly cgspeed
BVH of subject 131, and the ASF bone names) and different rest poses (T-pose; arms down for 3dsMax).

For each character bone j we build a world-space "delta" rotation D_j(t) that takes the rest pose to
the frame's pose: ``D_j = G_src_j(t) @ S_j``, where S_j is the shortest rotation turning the character's
rest bone direction into the source's rest bone direction and G_src_j is the source joint's global
rotation. Shortest rotations carry no twist, which suits rest poses that differ by swinging limbs. Only
rotations are transferred: the character keeps its own bone lengths, so its joints always sit on its
own skeleton. The ground truth taken later from the posed armature is therefore exact whatever
approximations this transfer makes.

All vectors here are in Blender's Z-up axes (`Y_UP_TO_Z_UP` applied to the Y-up mocap).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from .motion import Motion, Y_UP_TO_Z_UP, forward_kinematics, matrix_to_quat

#: The character's bones (cgspeed CMU BVH names), parents before children.
CMU_BONES: list[str] = [
    "Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase",
    "RHipJoint", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase",
    "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head",
    "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftFingerBase", "LeftHandIndex1", "LThumb",
    "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightFingerBase", "RightHandIndex1", "RThumb",
]

_ASF = {"root": "Hips", "lhipjoint": "LHipJoint", "lfemur": "LeftUpLeg", "ltibia": "LeftLeg",
        "lfoot": "LeftFoot", "ltoes": "LeftToeBase", "rhipjoint": "RHipJoint", "rfemur": "RightUpLeg",
        "rtibia": "RightLeg", "rfoot": "RightFoot", "rtoes": "RightToeBase", "lowerback": "LowerBack",
        "upperback": "Spine", "thorax": "Spine1", "lowerneck": "Neck", "upperneck": "Neck1",
        "head": "Head", "lclavicle": "LeftShoulder", "lhumerus": "LeftArm", "lradius": "LeftForeArm",
        "lwrist": "LeftHand", "lhand": "LeftFingerBase", "lfingers": "LeftHandIndex1", "lthumb": "LThumb",
        "rclavicle": "RightShoulder", "rhumerus": "RightArm", "rradius": "RightForeArm",
        "rwrist": "RightHand", "rhand": "RightFingerBase", "rfingers": "RightHandIndex1", "rthumb": "RThumb"}
_MAX = {"LeftHip": "LeftUpLeg", "LeftKnee": "LeftLeg", "LeftAnkle": "LeftFoot", "LeftToe": "LeftToeBase",
        "RightHip": "RightUpLeg", "RightKnee": "RightLeg", "RightAnkle": "RightFoot",
        "RightToe": "RightToeBase", "lowerback": "LowerBack", "Chest": "Spine", "Chest2": "Spine1",
        "lowerneck": "Neck", "Neck": "Neck1", "Head": "Head", "LeftCollar": "LeftShoulder",
        "LeftShoulder": "LeftArm", "LeftElbow": "LeftForeArm", "LeftWrist": "LeftHand",
        "lhand": "LeftFingerBase", "LFingers": "LeftHandIndex1", "RightCollar": "RightShoulder",
        "RightShoulder": "RightArm", "RightElbow": "RightForeArm", "RightWrist": "RightHand",
        "rhand": "RightFingerBase", "RFingers": "RightHandIndex1"}
_ALIASES = {"LFingers": "LeftHandIndex1", "RFingers": "RightHandIndex1"}


def character_names(names: list[str]) -> dict[str, str]:
    """Map a source skeleton's joint names to character bone names (unmapped joints are left out)."""
    if "lfemur" in names:
        table = _ASF
    elif "LeftCollar" in names or "LeftHip" in names:
        table = {**{n: n for n in CMU_BONES}, **_MAX}
    else:
        table = {**{n: n for n in CMU_BONES}, **_ALIASES}
    return {n: table[n] for n in names if n in table and table[n] in CMU_BONES}


def _shortest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction a onto direction b (identity if either is ~zero)."""
    if np.linalg.norm(a) < 1e-9 or np.linalg.norm(b) < 1e-9:
        return np.eye(3)
    return Rotation.align_vectors(np.asarray(b, float)[None], np.asarray(a, float)[None])[0].as_matrix()


def _rest_directions(motion: Motion, mapping: dict[str, str]) -> dict[str, np.ndarray]:
    """For each mapped joint, the mean rest direction of its non-zero child offsets (Z-up axes)."""
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(motion.names):
        if name not in mapping:
            continue
        kids = [k for k, p in enumerate(motion.parents) if p == j and np.linalg.norm(motion.offsets[k]) > 1e-6]
        if kids:
            d = sum(motion.offsets[k] / np.linalg.norm(motion.offsets[k]) for k in kids)
            out[mapping[name]] = Y_UP_TO_Z_UP @ d
    return out


def delta_rotations(source: Motion, rest_heads: np.ndarray) -> np.ndarray:
    """D (T, 31, 3, 3): world rotations taking each character bone from its rest pose to each frame.

    `rest_heads` (31, 3) are the character's rest bone heads (armature space, Z up) in `CMU_BONES`
    order. For bone j, S_j is the shortest rotation taking the character's rest direction (towards its
    children's heads) onto the source's rest direction (towards its children's offsets), and
    ``D_j = G_src_j @ S_j``: the source's global rotation applied to the source-aligned rest bone.
    Bones whose children sit on their head (zero offsets, e.g. the CMU hips and upper chest) get S = I.
    Bones with no source joint follow their parent.
    """
    P = Y_UP_TO_Z_UP
    src_map = character_names(source.names)
    _, g_src = forward_kinematics(source)
    src_dirs = _rest_directions(source, src_map)
    src_idx = {c: source.index(s) for s, c in src_map.items()}
    parent_of = cmu_parents()
    D = np.zeros((source.num_frames, len(CMU_BONES), 3, 3))
    for j, bone in enumerate(CMU_BONES):
        if bone not in src_idx:
            D[:, j] = D[:, parent_of[j]] if parent_of[j] >= 0 else np.eye(3)
            continue
        kids = [k for k, p in enumerate(parent_of) if p == j]
        vecs = [rest_heads[k] - rest_heads[j] for k in kids]
        vecs = [v / np.linalg.norm(v) for v in vecs if np.linalg.norm(v) > 1e-6]
        rest_dir = np.sum(vecs, axis=0) if vecs else np.zeros(3)
        S = _shortest_rotation(rest_dir, src_dirs.get(bone, np.zeros(3)))
        D[:, j] = P @ g_src[:, src_idx[bone]] @ P.T @ S
    return D


def cmu_parents() -> list[int]:
    """Parent index of each bone in `CMU_BONES` (the character's hierarchy)."""
    parent = {"Hips": None, "LHipJoint": "Hips", "RHipJoint": "Hips", "LowerBack": "Hips",
              "LeftUpLeg": "LHipJoint", "LeftLeg": "LeftUpLeg", "LeftFoot": "LeftLeg",
              "LeftToeBase": "LeftFoot", "RightUpLeg": "RHipJoint", "RightLeg": "RightUpLeg",
              "RightFoot": "RightLeg", "RightToeBase": "RightFoot", "Spine": "LowerBack",
              "Spine1": "Spine", "Neck": "Spine1", "Neck1": "Neck", "Head": "Neck1",
              "LeftShoulder": "Spine1", "LeftArm": "LeftShoulder", "LeftForeArm": "LeftArm",
              "LeftHand": "LeftForeArm", "LeftFingerBase": "LeftHand", "LeftHandIndex1": "LeftFingerBase",
              "LThumb": "LeftHand", "RightShoulder": "Spine1", "RightArm": "RightShoulder",
              "RightForeArm": "RightArm", "RightHand": "RightForeArm", "RightFingerBase": "RightHand",
              "RightHandIndex1": "RightFingerBase", "RThumb": "RightHand"}
    return [CMU_BONES.index(parent[b]) if parent[b] else -1 for b in CMU_BONES]


def pose_basis(D: np.ndarray, rest_rot: np.ndarray, parents: list[int]) -> np.ndarray:
    """Blender pose-bone rotations (T, J, 4) quaternions (w, x, y, z) that realise the deltas D.

    Blender poses a bone as ``pose_j = pose_parent @ rest_parent^-1 @ rest_j @ basis_j``. With
    ``pose_j = D_j @ rest_j`` (rotation parts, armature space) this gives
    ``basis_j = rest_j^T @ D_parent^T @ D_j @ rest_j`` (root: ``rest^T @ D @ rest``).
    `rest_rot` holds each bone's rest rotation (bone.matrix_local's 3x3) in the same order.
    """
    out = np.zeros(D.shape[:2] + (4,))
    for j, p in enumerate(parents):
        R = rest_rot[j]
        rel = D[:, j] if p < 0 else np.swapaxes(D[:, p], -1, -2) @ D[:, j]
        out[:, j] = matrix_to_quat(R.T @ rel @ R)
    return out


def leg_length(motion: Motion) -> float:
    """Hip-to-ankle rest length (m) of the left leg, used to scale root travel between subjects."""
    m = {c: s for s, c in character_names(motion.names).items()}
    return float(sum(np.linalg.norm(motion.offsets[motion.index(m[c])]) for c in ("LeftLeg", "LeftFoot") if c in m))


def character_leg_length(rest_heads: np.ndarray) -> float:
    """The same length measured on the character's rest heads (in the heads' units)."""
    i = {n: k for k, n in enumerate(CMU_BONES)}
    return float(np.linalg.norm(rest_heads[i["LeftLeg"]] - rest_heads[i["LeftUpLeg"]]) +
                 np.linalg.norm(rest_heads[i["LeftFoot"]] - rest_heads[i["LeftLeg"]]))
