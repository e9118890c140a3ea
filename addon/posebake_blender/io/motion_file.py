"""Read PoseBake Motion files (schema "posebake.motion/1") inside Blender with numpy only.

The add-on cannot import the backend package (it pulls in torch and OpenCV), so this is a second,
deliberately small reader of the same `.npz` contract written by `posebake.motion.Motion.save`. It checks
what the baking code relies on (schema, keys, shapes, a non-empty motion) and nothing more; every problem
is a `MotionFileError` that names the file, because a silent half-read motion is worse than none.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCHEMA = "posebake.motion/1"
REQUIRED = ("schema", "joint_names", "K", "image_size", "track_ids", "joints_cam", "joints_2d",
            "visibility", "subject_height", "fps", "K_source", "smoothing", "frame_start", "source_video")


class MotionFileError(ValueError):
    """A Motion file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class MotionFile:
    """The arrays of one Motion file, as stored (see backend/posebake/motion.py for the contract)."""

    path: str
    joints_cam: np.ndarray      # (P,T,J,3) float32 metres, OpenCV camera axes, NaN where absent
    joints_2d: np.ndarray       # (P,T,J,2) float32 pixels
    visibility: np.ndarray      # (P,T,J) float32
    joint_names: tuple[str, ...]
    fps: float
    K: np.ndarray               # (3,3)
    image_size: tuple[int, int]
    track_ids: np.ndarray       # (P,)
    subject_height: np.ndarray  # (P,)
    K_source: str
    smoothing: str
    frame_start: int
    source_video: str
    camera_rotation: np.ndarray | None = None  # (T,3,3) camera -> first-frame camera axes (optional key)

    @property
    def num_tracks(self) -> int:
        return int(self.joints_cam.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.joints_cam.shape[1])

    def track(self, index: int = 0) -> np.ndarray:
        """(T,J,3) joints of one track (track 0 is the main subject)."""
        if not 0 <= index < self.num_tracks:
            raise MotionFileError(f"{self.path}: track {index} does not exist ({self.num_tracks} tracks)")
        return self.joints_cam[index]

    def track_world(self, index: int = 0) -> np.ndarray:
        """(T,J,3) joints of one track with the camera's pan/tilt removed (the backend's `joints_world`):
        a runner the camera follows then travels through space instead of staying centred. Files written
        before camera motion was estimated have no rotation; their joints are returned as stored."""
        j = self.track(index)
        if self.camera_rotation is None:
            return j
        return np.einsum("tij,tkj->tki", self.camera_rotation, j).astype(np.float32)

    def presence(self) -> np.ndarray:
        """(P,) fraction of frames in which each track has any joint (for the person picker)."""
        return np.isfinite(self.joints_cam).all(-1).any(-1).mean(-1)


def read_motion(path: str | os.PathLike) -> MotionFile:
    """Load and check a Motion `.npz`; raise `MotionFileError` on anything the bake could not use."""
    p = Path(path)
    if not p.is_file():
        raise MotionFileError(f"motion file not found: {p}")
    try:
        with np.load(p, allow_pickle=False) as data:
            raw = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise MotionFileError(f"{p} is not a PoseBake motion file (.npz): {exc}") from None
    if "schema" not in raw:
        raise MotionFileError(f"{p} is not a PoseBake motion file (it has no 'schema' entry)")
    schema = str(raw["schema"])
    if schema != SCHEMA:
        raise MotionFileError(f"{p} has schema {schema!r}; this add-on reads {SCHEMA!r} "
                              "(update the add-on or re-export the motion)")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise MotionFileError(f"{p} is missing keys: {', '.join(missing)}")
    jc = np.asarray(raw["joints_cam"], dtype=np.float32)
    if jc.ndim != 4 or jc.shape[3] != 3:
        raise MotionFileError(f"{p}: joints_cam must be (P,T,J,3), got {jc.shape}")
    P, T, J = jc.shape[:3]
    if P == 0 or T == 0:
        raise MotionFileError(f"{p}: empty motion ({P} tracks x {T} frames)")
    names = tuple(str(n) for n in np.asarray(raw["joint_names"]).reshape(-1))
    if len(names) != J:
        raise MotionFileError(f"{p}: {J} joints in joints_cam but {len(names)} joint_names")
    shapes = {"joints_2d": (P, T, J, 2), "visibility": (P, T, J), "K": (3, 3), "track_ids": (P,),
              "subject_height": (P,)}
    for key, shape in shapes.items():
        if np.asarray(raw[key]).shape != shape:
            raise MotionFileError(f"{p}: {key} must have shape {shape}, got {np.asarray(raw[key]).shape}")
    if not np.isfinite(jc).any():
        raise MotionFileError(f"{p}: empty motion (no finite joint in any frame)")
    fps = float(raw["fps"])
    if not (np.isfinite(fps) and fps > 0):
        raise MotionFileError(f"{p}: fps must be positive, got {fps}")
    rot = raw.get("camera_rotation")
    if rot is not None:
        rot = np.asarray(rot, dtype=np.float64)
        if rot.shape != (T, 3, 3) or not np.isfinite(rot).all():
            raise MotionFileError(f"{p}: camera_rotation must be finite (T,3,3) = {(T, 3, 3)}, got {rot.shape}")
    size = tuple(int(v) for v in np.asarray(raw["image_size"]).reshape(-1))
    if len(size) != 2 or min(size) <= 0:
        raise MotionFileError(f"{p}: image_size must be (width, height) > 0, got {size}")
    K = np.asarray(raw["K"], dtype=np.float64)
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:  # the matched camera divides by them
        raise MotionFileError(f"{p}: K must be finite with positive focal lengths")
    return MotionFile(
        path=str(p), joints_cam=jc, joints_2d=np.asarray(raw["joints_2d"], dtype=np.float32),
        visibility=np.asarray(raw["visibility"], dtype=np.float32), joint_names=names, fps=fps,
        K=K, image_size=(size[0], size[1]),
        track_ids=np.asarray(raw["track_ids"], dtype=np.int64),
        subject_height=np.asarray(raw["subject_height"], dtype=np.float64),
        K_source=str(raw["K_source"]), smoothing=str(raw["smoothing"]),
        frame_start=int(raw["frame_start"]), source_video=str(raw["source_video"]), camera_rotation=rot)
