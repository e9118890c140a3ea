"""Foreshortening depth limit: a bone never projects longer than it is, and a flattened skeleton is pulled in."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posebake.camera import intrinsics
from posebake.foreshortening import depth_factor, depth_limit, limit_depth
from posebake.paths import shared_data
from posebake.rootsolve import solve_root_translation
from posebake.skeleton import JOINT_INDEX, standing_pose

from .test_rootsolve import project, synthetic

W, H = 1920, 1080
#: data.JOINTS (CMU subset) -> BlazePose landmark names; the head has no long bone here
CMU_TO_BLAZEPOSE = {"l_shoulder": "left_shoulder", "r_shoulder": "right_shoulder", "l_elbow": "left_elbow",
                    "r_elbow": "right_elbow", "l_wrist": "left_wrist", "r_wrist": "right_wrist",
                    "l_hip": "left_hip", "r_hip": "right_hip", "l_knee": "left_knee", "r_knee": "right_knee",
                    "l_ankle": "left_ankle", "r_ankle": "right_ankle"}


def turning(T: int = 41) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rigid standing person turning from -60 to +60 degrees while walking away (bones of fixed length,
    unlike `synthetic`, whose per-frame joint noise changes them)."""
    _, t, K = synthetic(T)
    yaw = Rotation.from_euler("y", np.linspace(-60, 60, T)[:, None], degrees=True).as_matrix()
    X = np.einsum("tij,kj->tki", yaw, standing_pose())
    return X - 0.5 * (X[:, JOINT_INDEX["left_hip"]] + X[:, JOINT_INDEX["right_hip"]])[:, None], t, K


def test_bound_holds_and_is_tight_when_a_bone_faces_the_camera() -> None:
    X, t, K = turning()
    u = project(X, t, K)
    limit = depth_limit(X, u, np.ones(u.shape[:2]), K, (W, H))
    # the true depth never exceeds the bound (1 % slack for the off-axis perspective of the mid-point model)
    assert np.all(limit >= 0.99 * t[:, 2])
    # the synthetic walker turns from -60 to +60 degrees: facing the camera, the shoulder and hip lines lie
    # almost in the image plane and the bound closes in on the true depth
    facing = len(t) // 2
    assert limit[facing] == pytest.approx(t[facing, 2], rel=0.03)


def test_consistent_skeleton_is_left_alone() -> None:
    X, t, K = turning()
    u = project(X, t, K)
    w = np.ones(u.shape[:2])
    t_solve = solve_root_translation(X, u, w, K, (W, H))
    t_new, factor = limit_depth(X, u, w, K, (W, H), t_solve)
    assert factor == pytest.approx(1.0, abs=0.01)
    assert np.abs(t_new - t).max() < 0.01 * t[:, 2].min()


def test_nothing_measurable_means_no_change() -> None:
    X, t, K = synthetic(T=5)
    u = project(X, t, K)
    limit = depth_limit(X, u, np.zeros(u.shape[:2]), K, (W, H))  # nothing visible
    assert np.all(np.isinf(limit))
    assert depth_factor(t, limit) == 1.0


def cmu_walk_in_camera(tilt_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A real CMU walk (as BlazePose-indexed joints) seen by a camera tilted down by `tilt_deg`, 5-7 m away:
    root-relative X (T,33,3) with NaN for unused landmarks, roots t (T,3) and K."""
    from posebake.smoothing.data import JOINTS, load_positions

    path = shared_data() / "mocap_bvh" / "cmu_01_01.bvh"
    if not path.is_file():
        pytest.skip(f"{path} missing (../shared/data)")
    pos = load_positions(path)[::3][:80].astype(np.float64)  # (T,15,3) Y-up metres, 10 fps
    pos -= pos[:, [JOINTS.index("l_hip"), JOINTS.index("r_hip")]].mean(axis=(0, 1))
    # world Y-up -> OpenCV camera (y down, z forward), then tilt the camera down
    R = Rotation.from_euler("x", -tilt_deg, degrees=True).as_matrix() @ np.diag([1.0, -1.0, -1.0]) \
        @ Rotation.from_euler("y", 150, degrees=True).as_matrix()
    cam = pos @ R.T
    cam[..., 2] += 6.0
    full = np.full((len(cam), 33, 3), np.nan)
    for cmu, bp in CMU_TO_BLAZEPOSE.items():
        full[:, JOINT_INDEX[bp]] = cam[:, JOINTS.index(cmu)]
    t = 0.5 * (full[:, JOINT_INDEX["left_hip"]] + full[:, JOINT_INDEX["right_hip"]])
    K, _ = intrinsics(W, H, fov=50.0)
    return full - t[:, None], t, K


LIMBS = (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
         ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
         ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"))


def flatten(X: np.ndarray, depth_keep: float, pitch_deg: float) -> np.ndarray:
    """The network's error as measured on rendered clips: every bone keeps its length but turns towards
    the image plane (its depth component times `depth_keep`, then renormalised) and the body is pitched
    back towards upright by `pitch_deg`. Rebuilt outwards from the mid-hip so lengths stay exact."""
    R = Rotation.from_euler("x", pitch_deg, degrees=True).as_matrix()

    def turn(v: np.ndarray) -> np.ndarray:
        d = (v @ R.T) * np.array([1.0, 1.0, depth_keep])
        return d / np.linalg.norm(d, axis=-1, keepdims=True) * np.linalg.norm(v, axis=-1, keepdims=True)

    J = {k: X[:, JOINT_INDEX[k]] for k in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")}
    out = np.full_like(X, np.nan)
    hips, spine = turn(J["left_hip"] - J["right_hip"]), turn(
        0.5 * (J["left_shoulder"] + J["right_shoulder"] - J["left_hip"] - J["right_hip"]))
    shoulders = turn(J["left_shoulder"] - J["right_shoulder"])
    out[:, JOINT_INDEX["left_hip"]], out[:, JOINT_INDEX["right_hip"]] = hips / 2, -hips / 2
    out[:, JOINT_INDEX["left_shoulder"]] = spine + shoulders / 2
    out[:, JOINT_INDEX["right_shoulder"]] = spine - shoulders / 2
    for a, b in LIMBS:
        out[:, JOINT_INDEX[b]] = out[:, JOINT_INDEX[a]] + turn(X[:, JOINT_INDEX[b]] - X[:, JOINT_INDEX[a]])
    return out


@pytest.mark.parametrize("tilt", [5.0, 30.0])
def test_flattened_skeleton_is_pulled_back_in(tilt: float) -> None:
    """The failure this fixes: a skeleton with the right bone lengths but bones turned towards the image
    plane is placed too far by the plain solve; the limit brings it most of the way back, never past."""
    X, t, K = cmu_walk_in_camera(tilt)
    u = np.where(np.isfinite(X[..., :2]), project(np.nan_to_num(X), t, K), np.nan)
    w = np.isfinite(u).all(axis=-1).astype(float)
    flat = flatten(X, depth_keep=0.5, pitch_deg=tilt / 2)
    t_solve = solve_root_translation(np.nan_to_num(flat), np.nan_to_num(u), w, K, (W, H))
    t_new, factor = limit_depth(flat, u, w, K, (W, H), t_solve)
    before = np.median(t_solve[:, 2] / t[:, 2] - 1)
    after = np.median(t_new[:, 2] / t[:, 2] - 1)
    assert before > 0.02  # the plain solve is measurably too far...
    assert factor < 1.0
    assert -0.01 < after < 0.5 * before  # ...the limit removes at least half of it and does not overshoot
