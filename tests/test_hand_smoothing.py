"""Hands over time (issue #19 item 2): jitter removed, a quick grab kept, hands kept on the smoothed wrists.

The full measurement with the model's real noise is bench/results/hand_smoothing.md; here the same filter on a
signal whose answer is known.
"""
from __future__ import annotations

import numpy as np

from posebake.smoothing import smooth_motion
from posebake.smoothing.filters import gaussian
from posebake.smoothing.hands import refine_hands, zero_phase_oneeuro
from posebake_core.motion import Motion


def grab(ramp: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A fingertip coordinate (T,) closing 8 cm in `ramp` frames, held, opening: truth and still-frame mask."""
    x = (np.arange(ramp) + 1) / ramp
    up = 0.08 * x * x * (3 - 2 * x)
    one = np.concatenate([np.zeros(12), up, np.full(10, 0.08), up[::-1], np.zeros(12)])
    truth = np.tile(one, 3)
    moving = np.abs(np.gradient(truth)) > 0
    still = ~(np.convolve(moving, np.ones(5), mode="same") > 0)
    return truth, still


def test_jitter_goes_and_a_quick_grab_stays() -> None:
    truth, still = grab()
    noisy = truth + np.random.default_rng(0).normal(0, 0.005, len(truth))  # ~ the measured 5-9 mm
    ours = zero_phase_oneeuro(noisy[:, None], fps=30.0)[:, 0]
    low_pass = gaussian(noisy[:, None], 2.0)[:, 0]  # a fixed cutoff that removes as much jitter
    err = lambda e: np.abs(e - truth)  # noqa: E731
    assert err(ours)[still].mean() < 0.6 * err(noisy)[still].mean()
    assert err(low_pass)[still].mean() < 0.6 * err(noisy)[still].mean()
    # the grab: the fixed low-pass rounds it off, ours follows it
    assert err(ours)[~still].mean() < 0.7 * err(low_pass)[~still].mean()
    held = np.convolve(truth == 0.08, np.ones(5), mode="same") == 5
    assert abs(ours[held].mean() - 0.08) < 0.002


def test_no_averaging_across_a_gap() -> None:
    x = np.concatenate([np.zeros(10), np.full(3, np.nan), np.ones(10)])[:, None]
    y = zero_phase_oneeuro(x, fps=30.0)
    assert np.isnan(y[10:13]).all() and np.allclose(y[:10], 0) and np.allclose(y[13:], 1)


def test_smoothed_motion_keeps_hands_on_its_wrists() -> None:
    rng = np.random.default_rng(1)
    P, T = 1, 40
    joints = np.cumsum(rng.normal(0, 0.01, (P, T, 33, 3)), axis=1) + [0, 0, 3]
    shape = rng.normal(0, 0.05, (21, 3))
    shape[0] = 0
    hands = joints[:, :, [15, 16], None] + shape + rng.normal(0, 0.005, (P, T, 2, 21, 3))
    hands[:, :, :, 0] = joints[:, :, [15, 16]]
    hands[0, 20:25, 1] = np.nan  # the right hand unseen for five frames
    conf = np.where(np.isfinite(hands[..., 0, 0]), 1.0, 0.0)
    m = Motion(joints_cam=joints, joints_2d=np.zeros((P, T, 33, 2)), visibility=np.ones((P, T, 33)), fps=30,
               K=np.eye(3), image_size=(64, 64), hands_cam=hands, hands_2d=np.zeros((P, T, 2, 21, 2)),
               hands_conf=conf)
    s = smooth_motion(m, "oneeuro")
    assert not np.allclose(s.joints_cam, m.joints_cam)
    seen = conf[0] > 0
    assert np.allclose(s.hands_cam[0, :, 0, 0], s.joints_cam[0, :, 15], atol=1e-5)
    assert np.allclose(s.hands_cam[0][seen[:, 1], 1, 0], s.joints_cam[0][seen[:, 1], 16], atol=1e-5)
    assert np.isnan(s.hands_cam[0, 20:25, 1]).all() and np.isfinite(s.hands_cam[0, :, 0]).all()
    # the shape is refined: closer to the true shape than the noisy input
    before = np.linalg.norm((m.hands_cam[0, :, 0] - m.hands_cam[0, :, 0, :1]) - shape, axis=-1).mean()
    after = np.linalg.norm((s.hands_cam[0, :, 0] - s.hands_cam[0, :, 0, :1]) - shape, axis=-1).mean()
    assert after < 0.7 * before
    # "none" changes nothing
    n = smooth_motion(m, "none")
    assert np.allclose(n.hands_cam, m.hands_cam, equal_nan=True)
    assert refine_hands(m.hands_cam, m.joints_cam, 30.0, filtered=False).shape == m.hands_cam.shape
