"""The 33-landmark BlazePose body skeleton shared by the backend, the Motion file and the exporters.

Names and order follow the BlazePose / MediaPipe Pose landmark indices, so a landmark model's output
array can be used as-is: index `i` of every (.., J, ..) array is `BLAZEPOSE_JOINTS[i]`.
"""
from __future__ import annotations

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
