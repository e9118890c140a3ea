"""What the lifter sees: BlazePose 2D landmarks turned into normalised, camera-independent input.

The same code prepares training windows (synthetic 2D from motion capture) and real tracks, so the two
cannot drift apart. Three steps:

1. Pixels -> rays ``((u - cx) / f, (v - cy) / f)``: the focal length leaves the problem.
2. A *virtual camera* per frame, turned so that its optical axis passes through the mid-hip landmark
   (the perspective-crop idea): a person off the image centre is seen from a slightly different direction
   than one on it, and without this the network would have to guess that direction from the 2D shape.
   The lifter predicts in the virtual camera; `to_camera` turns its output back.
3. Root-relative (mid-hip at 0) and divided by one size per window (`window_scale`): the network gets a
   person of unit size and answers in metres from what it learned of human proportions, so the distance
   to the camera leaves the problem too (the root solve places the body afterwards).
"""
from __future__ import annotations

import numpy as np

from posebake_core.skeleton import JOINT_INDEX

#: The BlazePose landmarks the lifter reads: those with a skeletal meaning (face and hand points add little
#: to the body's joint centres and are the noisiest).
LIFT_INPUTS: tuple[str, ...] = (
    "nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
LIFT_INDEX: tuple[int, ...] = tuple(JOINT_INDEX[n] for n in LIFT_INPUTS)
#: Left/right partner of each input (for flip augmentation and flip-at-test-time).
INPUT_MIRROR: tuple[int, ...] = tuple(
    LIFT_INPUTS.index(n.replace("left_", "#").replace("right_", "left_").replace("#", "right_"))
    for n in LIFT_INPUTS)
_HIPS = (LIFT_INPUTS.index("left_hip"), LIFT_INPUTS.index("right_hip"))
#: Segments whose 2D lengths, summed in quadrature, give the window's size: many bones in many directions,
#: so the sum changes little when one of them points at the camera.
_SIZE_BONES = tuple((LIFT_INPUTS.index(a), LIFT_INPUTS.index(b)) for a, b in (
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "left_knee"),
    ("right_hip", "right_knee"), ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"), ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip")))


def rays(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 2) pixels -> (..., 2) normalised image coordinates (x/z, y/z) for the intrinsics K."""
    return np.stack([(uv[..., 0] - K[0, 2]) / K[0, 0], (uv[..., 1] - K[1, 2]) / K[1, 1]], axis=-1)


def virtual_rotation(root_ray: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations R with R @ unit(x, y, 1) = (0, 0, 1): the smallest turn of the camera that puts
    each frame's root on the optical axis (rotation about the axis (ray x z), Rodrigues' formula)."""
    d = np.concatenate([root_ray, np.ones(root_ray.shape[:-1] + (1,))], axis=-1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(d, z)
    s = np.linalg.norm(axis, axis=-1, keepdims=True)  # sin of the angle
    c = d[..., 2:3]  # cos of the angle
    k = np.divide(axis, s, out=np.zeros_like(axis), where=s > 1e-12)
    kx = np.zeros(d.shape[:-1] + (3, 3))
    kx[..., 0, 1], kx[..., 0, 2], kx[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    kx[..., 1, 0], kx[..., 2, 0], kx[..., 2, 1] = k[..., 2], -k[..., 1], k[..., 0]
    eye = np.broadcast_to(np.eye(3), kx.shape)
    return eye + s[..., None] * kx + (1 - c[..., None]) * (kx @ kx)


def to_virtual(xy: np.ndarray, R: np.ndarray) -> np.ndarray:
    """(T, J, 2) rays seen by the real camera -> rays of the virtual cameras R (T, 3, 3)."""
    d = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1) @ np.swapaxes(R, -1, -2)
    return d[..., :2] / d[..., 2:3]


def window_scale(xy: np.ndarray) -> float:
    """One size for a window of root-relative rays (T, J, 2): the median over frames of the quadrature sum
    of the `_SIZE_BONES` 2D lengths (NaN frames ignored)."""
    a, b = zip(*_SIZE_BONES)
    lengths = np.linalg.norm(xy[:, list(a)] - xy[:, list(b)], axis=-1)
    size = np.sqrt(np.sum(lengths ** 2, axis=1))
    size = size[np.isfinite(size) & (size > 0)]
    return float(np.median(size)) if len(size) else 1.0


def normalise(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """Virtual-camera rays (T, J, 2) -> (root-relative rays / window scale, the scale)."""
    rel = xy - 0.5 * (xy[:, _HIPS[0]] + xy[:, _HIPS[1]])[:, None]
    s = window_scale(rel)
    return rel / s, s


def virtual_rays(uv: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 33, 2) pixels -> (the lifter's landmarks as virtual-camera rays (T, J_in, 2), rotations (T, 3, 3))."""
    xy = rays(uv[:, list(LIFT_INDEX)].astype(np.float64), K)
    R = virtual_rotation(0.5 * (xy[:, _HIPS[0]] + xy[:, _HIPS[1]]))
    return to_virtual(xy, R), R


def network_input(xy_virtual: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """One window's virtual rays (T, J_in, 2) and (T, 33) visibility -> network input (T, J_in, 3): normalised
    with the window's own size, as every training window is."""
    rel, _ = normalise(xy_virtual)
    return np.concatenate([rel, vis[:, list(LIFT_INDEX), None]], axis=-1).astype(np.float32)


def prepare(uv: np.ndarray, vis: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks of one window (T, 33, 2) pixels and (T, 33) visibility -> (network input (T, J_in, 3):
    normalised x, y and visibility; virtual rotations (T, 3, 3)). Frames must be finite (fill gaps first)."""
    xy, R = virtual_rays(uv, K)
    return network_input(xy, vis), R


def to_camera(joints_virtual: np.ndarray, R: np.ndarray) -> np.ndarray:
    """(T, J, 3) root-relative joints in the virtual cameras -> the real camera's axes."""
    return np.einsum("tji,tkj->tki", R, joints_virtual)
