"""Root solve: synthetic skeletons projected with a known K and translation must be recovered."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posebake.camera import intrinsics
from posebake.rootsolve import (bone_lengths, consistent_scale, good_joint_mask,
                                solve_root_translation)
from posebake_core.skeleton import JOINT_INDEX, standing_pose

W, H = 1920, 1080


def synthetic(T: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root-relative poses X (T,33,3), translations t (T,3) and K for a person walking in front of a camera."""
    rng = np.random.default_rng(seed)
    base = standing_pose()
    yaw = Rotation.from_euler("y", np.linspace(-60, 60, T)[:, None], degrees=True).as_matrix()
    X = np.einsum("tij,kj->tki", yaw, base) + rng.normal(0, 0.02, (T, 33, 3))
    X -= (X[:, JOINT_INDEX["left_hip"]] + X[:, JOINT_INDEX["right_hip"]])[:, None] / 2
    t = np.stack([np.linspace(-1.0, 1.0, T), np.full(T, 0.2), np.linspace(4.0, 6.0, T)], axis=1)
    K, _ = intrinsics(W, H, fov=60.0)
    return X, t, K


def project(X: np.ndarray, t: np.ndarray, K: np.ndarray) -> np.ndarray:
    P = (X + t[:, None]) @ K.T
    return P[..., :2] / P[..., 2:3]


def test_exact_recovery() -> None:
    X, t, K = synthetic()
    u = project(X, t, K)
    w = np.ones(u.shape[:2])
    t_hat = solve_root_translation(X, u, w, K, (W, H))
    np.testing.assert_allclose(t_hat, t, atol=1e-9)


def test_non_square_pixels_and_offset_principal_point() -> None:
    X, t, _ = synthetic(T=5)
    K = np.array([[1500.0, 0.0, 900.0], [0.0, 1400.0, 560.0], [0.0, 0.0, 1.0]])
    u = project(X, t, K)
    t_hat = solve_root_translation(X, u, np.ones(u.shape[:2]), K, (W, H))
    np.testing.assert_allclose(t_hat, t, atol=1e-9)


def test_noise_keeps_root_close() -> None:
    X, t, K = synthetic(seed=1)
    rng = np.random.default_rng(2)
    u = project(X, t, K) + rng.normal(0, 2.0, (len(X), 33, 2))
    t_hat = solve_root_translation(X, u, np.ones(u.shape[:2]), K, (W, H))
    err = np.linalg.norm(t_hat - t, axis=1)
    assert err.max() < 0.08, err.max()  # 2 px noise at 4-6 m: a few centimetres
    assert np.abs(t_hat[:, :2] - t[:, :2]).max() < 0.02


def test_truncated_joints_at_border_are_excluded() -> None:
    X, t, K = synthetic(seed=3)
    # push the subject so its right side (negative x) leaves the image on the left
    t[:, 0] = -t[:, 2] * (W / 2) / K[0, 0] + 0.05
    u_true = project(X, t, K)
    off = u_true[..., 0] < 0
    assert off.any() and (~off).sum(axis=1).min() >= 6
    u = u_true.copy()
    u[..., 0] = np.clip(u[..., 0], 0, W - 1)  # detectors clamp off-screen landmarks onto the border
    w = np.ones(u.shape[:2])  # and often still call them visible
    t_hat = solve_root_translation(X, u, w, K, (W, H))
    np.testing.assert_allclose(t_hat, t, atol=1e-6)
    # without the border rule the clamped joints drag the root: the test must be able to fail
    t_naive = solve_root_translation(X, u, w, K, (W, H), border_px=-1e9, robust_iters=0)
    assert np.linalg.norm(t_naive - t, axis=1).max() > 0.05


def test_weights_matter() -> None:
    X, t, K = synthetic(T=10, seed=4)
    u = project(X, t, K)
    bad = [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_ankle"], JOINT_INDEX["nose"]]
    u[:, bad] += np.array([150.0, -90.0])  # gross landmark errors
    w = np.ones(u.shape[:2])
    plain = solve_root_translation(X, u, w, K, (W, H), robust_iters=0)
    w_low = w.copy()
    w_low[:, bad] = 0.05  # kept above the visibility cut so only the weighting acts
    weighted = solve_root_translation(X, u, w_low, K, (W, H), robust_iters=0, min_visibility=0.0)
    e_plain = np.linalg.norm(plain - t, axis=1).mean()
    e_weighted = np.linalg.norm(weighted - t, axis=1).mean()
    assert e_weighted < 0.25 * e_plain, (e_plain, e_weighted)
    # the robust reweighting alone also tames them
    robust = solve_root_translation(X, u, w, K, (W, H))
    assert np.linalg.norm(robust - t, axis=1).mean() < 0.25 * e_plain


def test_low_visibility_excluded_and_fallback_nan() -> None:
    X, t, K = synthetic(T=6, seed=5)
    u = project(X, t, K)
    w = np.ones(u.shape[:2])
    w[2] = 0.1  # whole frame invisible
    w[3, 3:] = 0.0  # only 3 good joints: below the minimum
    u[4, :10] = np.nan  # missing landmarks are just excluded
    mask = good_joint_mask(u, w, (W, H))
    assert mask[0].all() and not mask[2].any() and mask[3].sum() == 3 and mask[4].sum() == 23
    t_hat = solve_root_translation(X, u, w, K, (W, H))
    assert np.isnan(t_hat[2]).all() and np.isnan(t_hat[3]).all()
    np.testing.assert_allclose(t_hat[[0, 1, 4, 5]], t[[0, 1, 4, 5]], atol=1e-9)


def test_shape_mismatch_is_an_error() -> None:
    X, t, K = synthetic(T=3)
    with pytest.raises(ValueError):
        solve_root_translation(X, project(X, t, K)[:, :10], np.ones((3, 33)), K, (W, H))


def test_consistent_scale_removes_size_jitter() -> None:
    X = np.repeat(standing_pose()[None], 50, axis=0)
    s = 1.0 + np.random.default_rng(7).normal(0, 0.05, 50)
    jittered = X * s[:, None, None]
    jittered[10] = np.nan  # an absent frame stays absent
    fixed = consistent_scale(jittered)
    before = np.nanstd(bone_lengths(jittered), axis=0) / np.nanmean(bone_lengths(jittered), axis=0)
    after = np.nanstd(bone_lengths(fixed), axis=0) / np.nanmean(bone_lengths(fixed), axis=0)
    assert before.max() > 0.03 and after.max() < 1e-9
    assert np.isnan(fixed[10]).all()
    # the track keeps its median size, and the pose's proportions are untouched
    np.testing.assert_allclose(np.nanmedian(bone_lengths(fixed), axis=0),
                               bone_lengths(standing_pose()) * np.nanmedian(np.delete(s, 10)), rtol=0.02)
    nonzero = jittered[0] != 0
    ratio = fixed[0][nonzero] / jittered[0][nonzero]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)


def test_consistent_scale_reference_lengths() -> None:
    X = np.repeat(standing_pose()[None], 4, axis=0) * np.array([1.0, 0.9, 1.1, 1.2])[:, None, None]
    ref = bone_lengths(standing_pose()) * 1.05
    fixed = consistent_scale(X, reference_lengths=ref)
    np.testing.assert_allclose(bone_lengths(fixed), np.broadcast_to(ref, (4, len(ref))), rtol=1e-12)
