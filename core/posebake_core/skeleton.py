"""The skeletons shared by the backend, the Motion file and the exporters.

`BLAZEPOSE_JOINTS`: the 33 BlazePose landmarks; names and order follow the MediaPipe Pose landmark
indices, so a landmark model's output array can be used as-is. `CENTRE_JOINTS`: the joint centres the
lifter predicts (the points a rig rotates about, as the CMU skeleton's bone heads), a tree rooted at the
pelvis given by `CENTRE_PARENTS`.
"""
from __future__ import annotations

import numpy as np

BLAZEPOSE_JOINTS: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(BLAZEPOSE_JOINTS)}

#: Joint centres (issue #18), pelvis first; "spine"/"chest" are the lower and upper thoracic joints,
#: "neck" the base of the neck, "head" the top of the neck (where the head turns).
CENTRE_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_toe", "right_toe", "spine", "chest", "neck", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
#: Parent of each joint centre (index into CENTRE_JOINTS, -1 for the pelvis); parents come first.
CENTRE_PARENTS: tuple[int, ...] = (-1, 0, 0, 1, 2, 3, 4, 5, 6, 0, 9, 10, 11, 10, 10, 13, 14, 15, 16)
#: Left/right partner of each joint centre (itself on the midline): for mirroring.
CENTRE_MIRROR: tuple[int, ...] = tuple(
    CENTRE_JOINTS.index(n.replace("left_", "#").replace("right_", "left_").replace("#", "right_"))
    for n in CENTRE_JOINTS)

# Rigid segments of the body between landmarks: (parent, child). Their lengths should stay constant over
# a track, which is what bone-length checks and `rootsolve.consistent_scale` rely on. Face landmarks are
# left out (they are too close together for a length to mean much) except the ear-to-nose segments.
BONES: tuple[tuple[str, str], ...] = (
    ("left_hip", "right_hip"),
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_wrist", "left_index"), ("left_wrist", "left_pinky"), ("left_wrist", "left_thumb"),
    ("right_wrist", "right_index"), ("right_wrist", "right_pinky"), ("right_wrist", "right_thumb"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("left_ankle", "left_foot_index"), ("left_heel", "left_foot_index"),
    ("right_ankle", "right_heel"), ("right_ankle", "right_foot_index"), ("right_heel", "right_foot_index"),
    ("left_ear", "nose"), ("right_ear", "nose"),
)

BONE_INDICES: tuple[tuple[int, int], ...] = tuple((JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in BONES)


def standing_pose() -> np.ndarray:
    """A plausible adult (about 1.7 m) standing facing the camera, arms down: (33,3) metres, root-relative.

    OpenCV camera axes (x right, y down, z away from the camera), origin at mid-hip; the person's left side
    is at +x (it appears on the right of the image). Used as a synthetic subject by tests and demos.
    """
    half = {  # left-side and midline points; right side mirrors x
        "nose": (0.0, -0.70, -0.10), "left_eye_inner": (0.015, -0.73, -0.085), "left_eye": (0.032, -0.73, -0.08),
        "left_eye_outer": (0.048, -0.73, -0.07), "left_ear": (0.075, -0.70, 0.0),
        "mouth_left": (0.025, -0.65, -0.085), "left_shoulder": (0.19, -0.50, 0.0),
        "left_elbow": (0.22, -0.22, 0.01), "left_wrist": (0.24, 0.03, -0.04), "left_pinky": (0.255, 0.11, -0.04),
        "left_index": (0.235, 0.12, -0.075), "left_thumb": (0.215, 0.08, -0.085), "left_hip": (0.09, 0.0, 0.0),
        "left_knee": (0.10, 0.43, -0.02), "left_ankle": (0.10, 0.85, 0.0), "left_heel": (0.10, 0.91, 0.05),
        "left_foot_index": (0.12, 0.93, -0.14),
    }
    out = np.zeros((len(BLAZEPOSE_JOINTS), 3))
    for name, i in JOINT_INDEX.items():
        if name in half:
            out[i] = half[name]
        else:
            mirror = name.replace("right", "left")
            out[i] = np.array(half[mirror]) * (-1.0, 1.0, 1.0)
    return out
