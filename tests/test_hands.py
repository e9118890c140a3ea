"""The hand stage on the real photos in ../shared/data/hands (issue #19, first must-show): the finger states
read from the estimated landmarks match the gestures SOURCES.md describes, and each hand is on its side.

Through the real command: `posebake estimate PHOTO --hands` (a photo is a one-frame video), then the Motion.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posebake.hands import finger_states, tips_touch
from posebake_core.motion import HAND_SIDES, Motion


def estimate_photo(photo: Path, out: Path) -> Motion:
    proc = subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(photo), "--hands", "-o", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return Motion.load(out)


def seen_hands(m: Motion) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{side: (world (21,3), image (21,2))} of the main subject's confidently seen hands."""
    return {side: (m.hands_cam[0, 0, s], m.hands_2d[0, 0, s]) for s, side in enumerate(HAND_SIDES)
            if m.hands_conf[0, 0, s] > 0.5}


def test_ok_sign(data_dir: Path, tmp_path: Path, model_files: Path) -> None:
    """hamer_test1.jpg: the woman facing the camera makes the OK sign with her right hand (on the image's
    left): thumb and index tips touching, the other three extended."""
    m = estimate_photo(data_dir / "hands" / "hamer_test1.jpg", tmp_path / "t1.npz")
    hands = seen_hands(m)
    assert "right" in hands, m.hands_conf
    world, image = hands["right"]
    assert image[:, 0].mean() < m.image_size[0] / 2  # her right hand is on the image's left: the side is right
    states = finger_states(world - world[0])
    assert tips_touch(image, "thumb", "index"), image[[4, 8]]
    assert states["index"] == "curled" and [states[f] for f in ("middle", "ring", "pinky")] == ["extended"] * 3, \
        states
    # metric and on her body: the wrist on the body's right wrist, a hand 12-25 cm from wrist to middle tip
    assert np.allclose(world[0], m.joints_cam[0, 0, 16], atol=1e-4)
    assert 0.12 < np.linalg.norm(world[12] - world[0]) < 0.25
    # the hand region the body model offered on her left side held the girl's fist, not hers: it is not
    # reported as her left hand (the model's handedness disagrees with the side)
    assert "left" not in hands


def test_spread_fingers_of_both_hands(data_dir: Path, tmp_path: Path, model_files: Path) -> None:
    """hamer_test5.jpg: both hands over her face, fingers spread, palms to the camera."""
    m = estimate_photo(data_dir / "hands" / "hamer_test5.jpg", tmp_path / "t5.npz")
    hands = seen_hands(m)
    assert set(hands) == {"left", "right"}, m.hands_conf
    for side, (world, image) in hands.items():
        assert set(finger_states(world - world[0]).values()) == {"extended"}, (side, finger_states(world))
        assert not tips_touch(image, "thumb", "index")
    # each on its side: her right hand on the image's left, her left on the image's right
    assert hands["right"][1][:, 0].mean() < hands["left"][1][:, 0].mean()
    assert np.allclose(hands["left"][0][0], m.joints_cam[0, 0, 15], atol=1e-4)


def test_hands_are_optional_and_absent_by_default(data_dir: Path, tmp_path: Path, model_files: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(data_dir / "hands" / "hamer_test5.jpg"),
                           "-o", str(tmp_path / "no.npz"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = Motion.load(tmp_path / "no.npz")
    assert m.hands_cam is None and m.hands_2d is None and m.hands_conf is None


@pytest.mark.parametrize("broken", ["some", "shape"])
def test_motion_refuses_malformed_hands(tmp_path: Path, broken: str) -> None:
    from posebake_core.errors import MotionError

    P, T = 1, 3
    base = dict(joints_cam=np.zeros((P, T, 33, 3)), joints_2d=np.zeros((P, T, 33, 2)), visibility=np.ones((P, T, 33)),
                fps=30, K=np.eye(3), image_size=(64, 64))
    good = dict(hands_cam=np.zeros((P, T, 2, 21, 3)), hands_2d=np.zeros((P, T, 2, 21, 2)),
                hands_conf=np.ones((P, T, 2)))
    Motion(**base, **good).save(tmp_path / "ok.npz")
    back = Motion.load(tmp_path / "ok.npz")
    assert back.hands_cam.shape == (P, T, 2, 21, 3) and back.hands_conf.min() == 1
    bad = dict(good, hands_conf=None) if broken == "some" else dict(good, hands_2d=np.zeros((P, T, 2, 20, 2)))
    with pytest.raises(MotionError, match="hands"):
        Motion(**base, **bad)
