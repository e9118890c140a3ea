"""The Motion contract has two readers: the backend's `Motion.load` and the add-on's `read_motion` (the add-on
cannot import the backend). These tests keep them from drifting apart: both read the schema the backend
writes, and every file that breaks a field the bake uses is refused by both, each with its own error type."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "addon"))

from posebake import motion as backend_motion  # noqa: E402
from posebake.errors import PoseBakeError  # noqa: E402
from posebake.motion import Motion  # noqa: E402
from posebake.skeleton import standing_pose  # noqa: E402
from posebake_blender.io import motion_file  # noqa: E402


def _valid(path: Path) -> dict[str, np.ndarray]:
    T = 4
    j = np.broadcast_to(standing_pose() + [0, 0, 3.0], (2, T, 33, 3)).astype(np.float32)
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    Motion(j, np.zeros((2, T, 33, 2)), np.ones((2, T, 33)), 30.0, K, (1280, 720), K_source="estimated",
           subject_height=np.array([1.7, np.nan])).save(path)
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _set(key: str, value: object) -> Callable[[dict], dict]:
    return lambda d: {**d, key: np.asarray(value)}


CORRUPTIONS: dict[str, Callable[[dict], dict]] = {
    "other schema": _set("schema", "posebake.motion/2"),
    "no fps": lambda d: {k: v for k, v in d.items() if k != "fps"},
    "no joints": lambda d: {k: v for k, v in d.items() if k != "joints_cam"},
    "joints without xyz": lambda d: {**d, "joints_cam": d["joints_cam"][..., :2]},
    "no frames": lambda d: {**d, "joints_cam": d["joints_cam"][:, :0], "joints_2d": d["joints_2d"][:, :0],
                            "visibility": d["visibility"][:, :0], "camera_rotation": d["camera_rotation"][:0]},
    "joint names short": lambda d: {**d, "joint_names": d["joint_names"][:-1]},
    "2D of another shape": lambda d: {**d, "joints_2d": d["joints_2d"][:, :, :-1]},
    "visibility of another shape": lambda d: {**d, "visibility": d["visibility"][:1]},
    "one height for two tracks": _set("subject_height", [1.7]),
    "track ids short": _set("track_ids", [0]),
    "zero fps": _set("fps", 0.0),
    "NaN fps": _set("fps", np.nan),
    "K not 3x3": _set("K", np.eye(2)),
    "zero focal": lambda d: {**d, "K": np.diag([0.0, 1000.0, 1.0])},
    "NaN in K": lambda d: {**d, "K": np.where(np.eye(3, dtype=bool), np.nan, d["K"])},
    "image size of one number": _set("image_size", [1280]),
    "zero image width": _set("image_size", [0, 720]),
    "camera rotation short": lambda d: {**d, "camera_rotation": d["camera_rotation"][:-1]},
    "NaN camera rotation": lambda d: {**d, "camera_rotation": d["camera_rotation"] * np.nan},
}


def test_both_readers_read_what_the_backend_writes(tmp_path: Path) -> None:
    assert motion_file.SCHEMA == backend_motion.SCHEMA
    raw = _valid(tmp_path / "ok.npz")
    m, f = Motion.load(tmp_path / "ok.npz"), motion_file.read_motion(tmp_path / "ok.npz")
    assert set(motion_file.REQUIRED) <= set(raw)
    np.testing.assert_array_equal(m.joints_cam, f.joints_cam)
    np.testing.assert_array_equal(m.camera_rotation, f.camera_rotation)
    np.testing.assert_array_equal(m.subject_height, f.subject_height)
    assert (m.fps, m.image_size, m.K_source, m.joint_names) == (f.fps, f.image_size, f.K_source, f.joint_names)


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_both_readers_refuse_a_broken_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **CORRUPTIONS[name](_valid(tmp_path / "ok.npz")))
    with pytest.raises(PoseBakeError, match="bad.npz"):
        Motion.load(path)
    with pytest.raises(motion_file.MotionFileError, match="bad.npz"):
        motion_file.read_motion(path)
