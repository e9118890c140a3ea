"""Which BlazePose landmark is compared with which ground-truth CMU joint.

The ground-truth clips (bench/groundtruth, schema "posebake.groundtruth/1") store the heads of the
character's CMU bones (cgspeed BVH names) and a few mesh "sites". PoseBake predicts the 33 BlazePose
landmarks. Only landmarks with a clear skeletal counterpart are scored:

=================  ======================  ==========================================================
BlazePose          CMU / GT                what the GT point is
=================  ======================  ==========================================================
left_shoulder      LeftArm (head)          gleno-humeral joint centre
left_elbow         LeftForeArm (head)      elbow joint centre
left_wrist         LeftHand (head)         wrist joint centre
left_hip           LeftUpLeg (head)        hip (femoral head) joint centre
left_knee          LeftLeg (head)          knee joint centre
left_ankle         LeftFoot (head)         ankle joint centre
(right side alike: RightArm, RightForeArm, RightHand, RightUpLeg, RightLeg, RightFoot)
root (mid-hip)     midpoint of the two     NOT the CMU "Hips" joint, which sits ~10 cm higher, at the
                   UpLeg heads             pelvis centre; BlazePose has no such point either
left_heel          site ``left_heel``      rearmost sole vertex of the mesh (optional, FOOT_SITES)
left_foot_index    site ``left_toe_tip``   frontmost vertex of the shoe (optional, FOOT_SITES)
=================  ======================  ==========================================================

Anatomical landmarks are not joint centres, so even a perfect estimator has a systematic offset:
BlazePose's hip landmarks are trained from surface annotations and sit wider and lower than the CMU hip
joint centres (which are inside the pelvis); BlazePose shoulders sit on the shoulder surface, above the
CMU arm joint; ankles are the malleoli, close to but not at the CMU ankle joint; and the CMU skeleton
fitted to this character has its own bone proportions. Root-relative errors therefore have a floor of a
few centimetres; compare estimators on the same clips rather than reading the numbers as absolute.
Face and hand landmarks (nose, eyes, ears, mouth, pinky, index, thumb) are not scored.
"""
from __future__ import annotations

import numpy as np

from posebake_core.skeleton import BLAZEPOSE_JOINTS

#: BlazePose landmark -> CMU bone whose head is the matching joint centre.
CMU_FOR_BLAZEPOSE: dict[str, str] = {
    "left_shoulder": "LeftArm", "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm", "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand", "right_wrist": "RightHand",
    "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg",
    "left_knee": "LeftLeg", "right_knee": "RightLeg",
    "left_ankle": "LeftFoot", "right_ankle": "RightFoot",
}
#: BlazePose foot landmarks -> GT mesh sites (surface points, so closer in kind to the landmarks).
FOOT_SITES: dict[str, str] = {
    "left_heel": "left_heel", "right_heel": "right_heel",
    "left_foot_index": "left_toe_tip", "right_foot_index": "right_toe_tip",
}
#: The scored joints, in this order in every array `gt_joints` and `pred_joints` return.
EVAL_JOINTS: tuple[str, ...] = tuple(CMU_FOR_BLAZEPOSE)
#: Rigid segments among EVAL_JOINTS, for bone-length consistency.
EVAL_BONES: tuple[tuple[int, int], ...] = tuple(
    (EVAL_JOINTS.index(a), EVAL_JOINTS.index(b)) for a, b in (
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
        ("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")))
#: Indices (into EVAL_JOINTS) of the two hips (their midpoint is the root) and of the feet.
HIP_PAIR: tuple[int, int] = (EVAL_JOINTS.index("left_hip"), EVAL_JOINTS.index("right_hip"))
FEET: tuple[int, int] = (EVAL_JOINTS.index("left_ankle"), EVAL_JOINTS.index("right_ankle"))


def gt_joints(gt: dict[str, np.ndarray], key: str = "joints_cam") -> np.ndarray:
    """(T, len(EVAL_JOINTS), 3) ground-truth points from a groundtruth/1 dict (camera or world axes)."""
    names = [str(n) for n in gt["joint_names"]]
    return np.asarray(gt[key], dtype=np.float64)[:, [names.index(CMU_FOR_BLAZEPOSE[j]) for j in EVAL_JOINTS]]


def pred_joints(landmarks: np.ndarray) -> np.ndarray:
    """(T, len(EVAL_JOINTS), 3) from a (T, 33, 3) BlazePose-ordered array (NaN rows = not detected)."""
    if landmarks.shape[-2] != len(BLAZEPOSE_JOINTS):
        raise ValueError(f"expected {len(BLAZEPOSE_JOINTS)} BlazePose landmarks, got {landmarks.shape[-2]}")
    return np.asarray(landmarks, dtype=np.float64)[:, [BLAZEPOSE_JOINTS.index(j) for j in EVAL_JOINTS]]


def mid_hip(joints: np.ndarray) -> np.ndarray:
    """(T, 3) root: the midpoint of the two hips of an EVAL_JOINTS-ordered array."""
    return 0.5 * (joints[:, HIP_PAIR[0]] + joints[:, HIP_PAIR[1]])


def gt_up(gt: dict[str, np.ndarray]) -> np.ndarray:
    """(T, 3) world up (+Z in Blender) in OpenCV camera axes, per frame (the camera may move)."""
    return np.asarray(gt["cam_R"])[:, :, 2]
