"""Camera rotation from background flow: exact on synthetic pans, still on a static shot."""
from __future__ import annotations

import cv2
import numpy as np

from posebake.camera import make_K
from posebake.camera_motion import CameraRotationTracker, kabsch

from .conftest import read_frame


def _rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def _rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def test_kabsch_recovers_a_rotation():
    rng = np.random.default_rng(1)
    b = rng.normal(size=(50, 3))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    R = _rot_y(20) @ _rot_x(-7)
    np.testing.assert_allclose(kabsch(b @ R.T, b), R, atol=1e-9)


def test_synthetic_pan_and_tilt_are_recovered(videos):
    """Views of a real frame rendered through known camera rotations (a homography K R K^-1 is exact for
    a rotating camera); a fake 'person' box is masked, as in the pipeline."""
    base = read_frame(videos / "phalp_running_woman.mp4", 0)
    h, w = base.shape[:2]
    K = make_K(1400.0, w, h)
    tracker = CameraRotationTracker(K, w, h)
    later = CameraRotationTracker(None, w, h)  # K not known yet: the focal is estimated during the decode
    truth = []
    for i in range(12):
        R = _rot_y(0.6 * i) @ _rot_x(0.15 * i)  # world <- camera_i
        truth.append(R)
        H = K @ R.T @ np.linalg.inv(K)  # maps world-camera pixels into camera_i pixels
        view = cv2.warpPerspective(base, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tracker.update(view, [np.array([700.0, 200.0, 900.0, 800.0])])
        later.update(view, [np.array([700.0, 200.0, 900.0, 800.0])])
        if i == 7:
            assert len(later.rotations) == 1 and len(later.pending) == 7
            later.set_K(K)  # the pairs tracked so far become rotations; the rest are fitted as they come
    est = np.stack(tracker.rotations)
    err = [np.degrees(np.arccos(np.clip((np.trace(e.T @ t) - 1) / 2, -1, 1))) for e, t in zip(est, truth)]
    assert max(err) < 0.15, err  # degrees, after chaining 11 frame pairs
    np.testing.assert_array_equal(np.stack(later.rotations), est)
    assert later.inlier_counts == tracker.inlier_counts and not later.pending


def test_static_camera_stays_static(videos):
    """The 4-camera lab clip is filmed from a tripod: no drift may accumulate."""
    from posebake.decode import iter_batches

    path = videos / "pose2sim_single_person_4cams" / "cam01.mp4"
    tracker = None
    for _, frames in iter_batches(path, batch_size=20, end=60):
        for f in frames:
            if tracker is None:
                tracker = CameraRotationTracker(make_K(1500.0, f.shape[1], f.shape[0]), f.shape[1], f.shape[0])
            tracker.update(f, [np.array([300.0, 500.0, 800.0, 1700.0])])
    last = tracker.rotations[-1]
    angle = np.degrees(np.arccos(np.clip((np.trace(last) - 1) / 2, -1, 1)))
    assert angle < 0.3
