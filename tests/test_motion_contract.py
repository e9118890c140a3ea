"""One Motion reader (`posebake_core.motion`) for the backend and the add-on.

The backend and the add-on used to carry two readers that accepted different files. Now both read through
the core; these tests feed the same files to the backend's `Motion.load` and to the add-on's bake path
inside pip bpy, and require the same answer for each: accepted, or refused with the same message. The four
files the two old readers disagreed on are among them.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from posebake_core.errors import MotionError, PoseBakeError
from posebake_core.motion import Motion
from posebake_core.skeleton import standing_pose
from tests.bpychild import REPO, run_blender


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


def _empty_track(d: dict) -> dict:
    j = d["joints_cam"].copy()
    j[1] = np.nan
    return {**d, "joints_cam": j}


#: the files the two former readers disagreed on (issue #16)
DRIFT: dict[str, Callable[[dict], dict]] = {
    "visibility 2.0": lambda d: {**d, "visibility": np.full_like(d["visibility"], 2.0)},
    "duplicate track ids": _set("track_ids", [3, 3]),
    "unknown K_source": _set("K_source", "guessed"),
    "a track with no finite joint": _empty_track,
}

CORRUPTIONS: dict[str, Callable[[dict], dict]] = {
    **DRIFT,
    "other schema": _set("schema", "posebake.motion/4"),
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
    "contacts of another shape": lambda d: {**d, "contacts": np.zeros((2, 4, 3), dtype=bool)},
    "contacts not booleans": lambda d: {**d, "contacts": np.full((2, 4, 2), 0.5)},
}


def _write_all(tmp: Path, only: str | None = None) -> dict[str, Path]:
    """The valid file and the corrupted ones (or only the one named `only`), as files in `tmp`."""
    raw = _valid(tmp / "ok.npz")
    files = {"valid": tmp / "ok.npz"}
    for i, (name, corrupt) in enumerate(sorted(CORRUPTIONS.items())):
        if only in (None, name):
            files[name] = tmp / f"bad_{i:02d}.npz"
            np.savez(files[name], **corrupt(raw))
    return files


def _backend_answer(path: Path) -> dict:
    try:
        return {"accepted": True, "error": "", "tracks": Motion.load(path).num_tracks}
    except PoseBakeError as exc:
        return {"accepted": False, "error": str(exc)}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_the_reader_refuses_a_broken_file_naming_it(tmp_path: Path, name: str) -> None:
    path = _write_all(tmp_path, only=name)[name]
    with pytest.raises(MotionError, match=path.name):
        Motion.load(path)


@pytest.mark.bpy
def test_backend_and_addon_in_bpy_give_the_same_answer_for_every_file(tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    files = _write_all(tmp_path)
    res = run_blender(tmp_path, "motion_reader", "read_files", json.dumps([str(p) for p in files.values()]))
    assert Path(res["core"]).resolve().is_relative_to(REPO / "core"), res["core"]
    for name, path in files.items():
        backend, addon = _backend_answer(path), res["results"][str(path)]
        assert backend == addon, (name, backend, addon)
        assert backend["accepted"] == (name == "valid"), (name, backend)
    for name in DRIFT:  # each refusal says what is wrong, not only that something is
        assert files[name].name in res["results"][str(files[name])]["error"]


def test_the_addon_has_no_motion_reader_of_its_own() -> None:
    """The add-on's sources never open an .npz themselves: every read goes through the core."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "addon").rglob("*.py") if "np.load(" in p.read_text()]
    assert offenders == []
