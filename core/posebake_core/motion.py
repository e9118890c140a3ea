"""The Motion file: the versioned contract between the backend and the Blender add-on.

One implementation, read by both: the backend writes and reads it here, and the add-on ships this package
and reads it inside Blender, where torch and OpenCV are not available (so: pure numpy). The file is an
`.npz` (no pickles, so loading never runs code) with a `schema` string; a reader refuses any schema it
does not know rather than guessing at a future layout.

Axes and units: `joints_cam` is in metres in OpenCV camera axes (x right, y down, z forward, origin at
the camera centre); `joints_2d` in pixels of the upright frame. Per-track arrays are (P, T, ...), track 0
is the main subject; a person absent from a frame has NaN joints and zero visibility there.

Version 2 adds the lifter's joint centres (optional): `skeleton_cam` (P,T,S,3) metres, camera axes, the
points a rig rotates about (pelvis, hips, knees, ... wrists: `skeleton_names`, normally
`skeleton.CENTRE_JOINTS`), placed with the track's root. Files of version 1 (no skeleton) still load.

Version 3 adds hands (optional; a version-2 reader would bake the fingers at rest, so the number moved):
per track, frame and side (left, right) the 21 MediaPipe hand landmarks, `hands_cam` (P,T,2,21,3) metres in camera axes with the wrist on the body's wrist, `hands_2d`
(P,T,2,21,2) pixels, and `hands_conf` (P,T,2) in [0,1] (0 and NaN landmarks where the hand was not seen
confidently). Files of versions 1 and 2 (no hands) still load.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import MotionError
from .skeleton import BLAZEPOSE_JOINTS

SCHEMA = "posebake.motion/3"
#: Every schema this reader accepts (it writes only SCHEMA).
READABLE = ("posebake.motion/1", "posebake.motion/2", SCHEMA)
#: Hand sides, in the order of the hands arrays' side axis.
HAND_SIDES = ("left", "right")
HAND_POINTS = 21

_ARRAY_KEYS = ("joint_names", "K", "image_size", "track_ids", "joints_cam", "joints_2d", "visibility",
               "subject_height")
_OPTIONAL_KEYS = ("camera_rotation", "contacts", "skeleton_cam", "skeleton_names", "hands_cam", "hands_2d",
                  "hands_conf")
_HAND_KEYS = ("hands_cam", "hands_2d", "hands_conf")
_SCALAR_KEYS = ("fps", "K_source", "smoothing", "frame_start", "source_video")
K_SOURCES = ("given", "metadata", "estimated", "default")


@dataclass
class Motion:
    """Metric 3D motion of P tracked people over T frames of one video (see module docstring)."""

    joints_cam: np.ndarray  # (P,T,J,3) float32 metres, NaN where absent
    joints_2d: np.ndarray  # (P,T,J,2) float32 pixels
    visibility: np.ndarray  # (P,T,J) float32 in [0,1]
    fps: float
    K: np.ndarray  # (3,3)
    image_size: tuple[int, int]  # (width, height)
    K_source: str = "default"
    track_ids: np.ndarray | None = None  # (P,) int; defaults to 0..P-1
    joint_names: tuple[str, ...] = BLAZEPOSE_JOINTS
    smoothing: str = "none"
    frame_start: int = 0
    source_video: str = ""
    subject_height: np.ndarray | None = None  # (P,) metres, NaN = not given
    # (T,3,3) rotation from each frame's camera axes to the first frame's camera axes ("world"); identity for
    # a static camera. Optional in files (absent = static), so older motion/1 files still load.
    camera_rotation: np.ndarray | None = None
    # (P,T,2) bool: each track's left and right foot planted in that frame, as the estimate found them
    # (`retarget.contacts.contacts_for_motion`); optional in files (absent: the bake detects them itself)
    contacts: np.ndarray | None = None
    # (P,T,S,3) float32 joint centres from the lifter (posebake.lifting), camera axes like joints_cam, NaN
    # where absent; `skeleton_names` names the S joints. Optional (absent: no lifter ran, or a version-1 file).
    skeleton_cam: np.ndarray | None = None
    skeleton_names: tuple[str, ...] = ()
    # (P,T,2,21,3) float32 metres / (P,T,2,21,2) pixels / (P,T,2) confidence: hands (posebake.hands), sides
    # in HAND_SIDES order; all three or none (absent: hands were not estimated, or an older file)
    hands_cam: np.ndarray | None = None
    hands_2d: np.ndarray | None = None
    hands_conf: np.ndarray | None = None
    schema: str = field(default=SCHEMA)
    # where the motion was read from (for messages); not part of the file
    path: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        self.joints_cam = np.asarray(self.joints_cam, dtype=np.float32)
        self.joints_2d = np.asarray(self.joints_2d, dtype=np.float32)
        self.visibility = np.asarray(self.visibility, dtype=np.float32)
        self.K = np.asarray(self.K, dtype=np.float64)
        self.image_size = tuple(int(v) for v in np.asarray(self.image_size).reshape(-1))
        P = self.joints_cam.shape[0] if self.joints_cam.ndim == 4 else 0
        self.track_ids = (np.arange(P, dtype=np.int64) if self.track_ids is None
                          else np.asarray(self.track_ids, dtype=np.int64).reshape(-1))
        self.subject_height = (np.full(P, np.nan) if self.subject_height is None
                               else np.asarray(self.subject_height, dtype=np.float64).reshape(-1))
        T = self.joints_cam.shape[1] if self.joints_cam.ndim == 4 else 0
        self.camera_rotation = (np.tile(np.eye(3), (T, 1, 1)) if self.camera_rotation is None
                                else np.asarray(self.camera_rotation, dtype=np.float64))
        if self.contacts is not None:
            c = np.asarray(self.contacts)
            if c.dtype != bool and not (np.isin(c, (0, 1)).all() if c.size else True):
                raise MotionError("motion: contacts must be booleans (0 or 1)")
            self.contacts = c.astype(bool)
        if self.skeleton_cam is not None:
            self.skeleton_cam = np.asarray(self.skeleton_cam, dtype=np.float32)
        self.skeleton_names = tuple(str(n) for n in np.asarray(self.skeleton_names).reshape(-1))
        for name in _HAND_KEYS:
            if getattr(self, name) is not None:
                setattr(self, name, np.asarray(getattr(self, name), dtype=np.float32))
        self.joint_names = tuple(str(n) for n in np.asarray(self.joint_names).reshape(-1))
        self.fps = float(self.fps)
        self.frame_start = int(self.frame_start)
        self.K_source, self.smoothing, self.source_video = str(self.K_source), str(self.smoothing), \
            str(self.source_video)
        self.validate()

    @property
    def num_tracks(self) -> int:
        return int(self.joints_cam.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.joints_cam.shape[1])

    @property
    def num_joints(self) -> int:
        return int(self.joints_cam.shape[2])

    def validate(self, where: str = "motion") -> None:
        """Raise `MotionError` naming `where` if shapes, dtypes or values break the contract."""
        def bad(msg: str) -> MotionError:
            return MotionError(f"{where}: {msg}")

        if self.schema not in READABLE:
            raise bad(f"schema {self.schema!r} is not one of {READABLE}")
        jc = self.joints_cam
        if jc.ndim != 4 or jc.shape[3] != 3:
            raise bad(f"joints_cam must be (P,T,J,3), got {jc.shape}")
        P, T, J = jc.shape[:3]
        if P == 0 or T == 0:
            raise bad(f"empty motion: {P} tracks x {T} frames")
        if J != len(self.joint_names):
            raise bad(f"{J} joints in joints_cam but {len(self.joint_names)} joint_names")
        expected = {"joints_2d": (P, T, J, 2), "visibility": (P, T, J), "K": (3, 3),
                    "track_ids": (P,), "subject_height": (P,), "camera_rotation": (T, 3, 3)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise bad(f"{name} must have shape {shape}, got {getattr(self, name).shape}")
        if self.contacts is not None and self.contacts.shape != (P, T, 2):
            raise bad(f"contacts must have shape {(P, T, 2)}, got {self.contacts.shape}")
        if self.skeleton_cam is not None:
            sk = self.skeleton_cam
            if sk.ndim != 4 or sk.shape[:2] != (P, T) or sk.shape[3] != 3:
                raise bad(f"skeleton_cam must have shape (P={P}, T={T}, S, 3), got {sk.shape}")
            if sk.shape[2] != len(self.skeleton_names):
                raise bad(f"{sk.shape[2]} joints in skeleton_cam but {len(self.skeleton_names)} skeleton_names")
        elif self.skeleton_names:
            raise bad("skeleton_names given without skeleton_cam")
        present = [getattr(self, k) is not None for k in _HAND_KEYS]
        if any(present) and not all(present):
            raise bad("hands_cam, hands_2d and hands_conf come together (all or none)")
        if all(present):
            H = HAND_POINTS
            for name, shape in (("hands_cam", (P, T, 2, H, 3)), ("hands_2d", (P, T, 2, H, 2)),
                                ("hands_conf", (P, T, 2))):
                if getattr(self, name).shape != shape:
                    raise bad(f"{name} must have shape {shape}, got {getattr(self, name).shape}")
            conf = self.hands_conf
            if np.isnan(conf).any() or (conf < 0).any() or (conf > 1).any():
                raise bad("hands_conf must lie in [0, 1]")
        if not np.isfinite(self.camera_rotation).all():
            raise bad("camera_rotation must be finite")
        if len(self.image_size) != 2 or min(self.image_size) <= 0:
            raise bad(f"image_size must be (width, height) > 0, got {self.image_size}")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise bad(f"fps must be positive, got {self.fps}")
        if self.K_source not in K_SOURCES:
            raise bad(f"K_source must be one of {K_SOURCES}, got {self.K_source!r}")
        if not np.isfinite(self.K).all() or self.K[0, 0] <= 0 or self.K[1, 1] <= 0:
            raise bad("K must be finite with positive focal lengths")
        vis = self.visibility
        if np.isnan(vis).any() or (vis < 0).any() or (vis > 1).any():
            raise bad("visibility must lie in [0, 1]")
        if len(set(self.track_ids.tolist())) != P:
            raise bad("track_ids must be unique")
        empty = np.flatnonzero(~np.isfinite(jc).all(axis=-1).any(axis=(1, 2)))
        if len(empty):
            raise bad(f"track(s) {empty.tolist()} have no finite joint in any frame (an empty track)")

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically as a compressed .npz (the suffix is kept as given; `.npz` is conventional)."""
        self.validate()
        target = Path(path)
        arrays = {
            "schema": np.array(SCHEMA),  # always the newest: what is written is what this code means
            "joint_names": np.array(self.joint_names, dtype=str),
            "K": self.K, "image_size": np.array(self.image_size, dtype=np.int64),
            "track_ids": self.track_ids, "joints_cam": self.joints_cam, "joints_2d": self.joints_2d,
            "visibility": self.visibility, "subject_height": self.subject_height,
            "fps": np.array(self.fps), "K_source": np.array(self.K_source),
            "smoothing": np.array(self.smoothing), "frame_start": np.array(self.frame_start),
            "source_video": np.array(self.source_video), "camera_rotation": self.camera_rotation,
        }
        if self.contacts is not None:
            arrays["contacts"] = self.contacts
        if self.skeleton_cam is not None:
            arrays["skeleton_cam"] = self.skeleton_cam
            arrays["skeleton_names"] = np.array(self.skeleton_names, dtype=str)
        if self.hands_cam is not None:
            arrays.update({k: getattr(self, k) for k in _HAND_KEYS})
        buf = io.BytesIO()  # zipped in memory first: a write that fails (disk full) fails in one plain call,
        np.savez_compressed(buf, **arrays)  # not inside the zip writer, which then complains again at exit
        with atomic_path(target) as tmp:
            tmp.write_bytes(buf.getbuffer())
        return target

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Motion":
        """Read and validate a Motion file; every problem is a `MotionError` naming the file."""
        p = Path(path)
        if not p.is_file():
            raise MotionError(f"motion file not found: {p}")
        try:
            with np.load(p, allow_pickle=False) as data:
                contents = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError) as exc:
            raise MotionError(f"{p} is not a PoseBake motion file (.npz): {exc}") from None
        if "schema" not in contents:
            raise MotionError(f"{p} is not a PoseBake motion file (it has no 'schema' entry)")
        schema = str(contents["schema"])
        if schema not in READABLE:
            raise MotionError(f"{p} has schema {schema!r}; this PoseBake reads {' and '.join(map(repr, READABLE))}")
        missing = [k for k in _ARRAY_KEYS + _SCALAR_KEYS if k not in contents]
        if missing:
            raise MotionError(f"{p} is missing keys: {', '.join(missing)}")
        kwargs = {k: contents[k] for k in _ARRAY_KEYS}
        kwargs.update({k: contents[k] for k in _OPTIONAL_KEYS if k in contents})
        try:
            kwargs.update({k: contents[k].item() for k in _SCALAR_KEYS})
            return cls(schema=schema, path=str(p), **kwargs)
        except MotionError as exc:
            raise MotionError(f"{p}: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise MotionError(f"{p}: malformed motion data: {exc}") from None

    def joints_world(self) -> np.ndarray:
        """(P,T,J,3) joints in the first frame's camera axes: camera panning/tilting removed, so a person
        the camera follows moves through space instead of staying centred (root motion)."""
        return np.einsum("tij,ptkj->ptki", self.camera_rotation, self.joints_cam).astype(np.float32)

    def track(self, index: int = 0) -> np.ndarray:
        """(T,J,3) camera-space joints of one track (track 0 is the main subject)."""
        if not 0 <= index < self.num_tracks:
            raise MotionError(f"{self.path or 'motion'}: track {index} does not exist ({self.num_tracks} tracks)")
        return self.joints_cam[index]

    def track_world(self, index: int = 0) -> np.ndarray:
        """(T,J,3) joints of one track in the first frame's camera axes (see `joints_world`)."""
        return np.einsum("tij,tkj->tki", self.camera_rotation, self.track(index)).astype(np.float32)

    def presence(self) -> np.ndarray:
        """(P,) fraction of frames in which each track has a joint (for the add-on's person picker)."""
        return self.present().mean(axis=-1)

    def present(self) -> np.ndarray:
        """(P,T) bool: the track has at least one finite 3D joint in that frame."""
        return np.isfinite(self.joints_cam).all(axis=-1).any(axis=-1)

    def order_tracks(self) -> "Motion":
        """A copy with tracks sorted main-subject-first: most frames present, then largest in the image.

        Size is the median 2D bounding-box diagonal over present frames: the person the camera follows is
        the one seen longest, and among equals the nearest (biggest) one.
        """
        present = self.present()
        frames = present.sum(axis=1)
        sizes = np.zeros(self.num_tracks)
        for i in range(self.num_tracks):
            uv = self.joints_2d[i][present[i]]  # (n,J,2)
            if len(uv):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # frames with no 2D landmark
                    diag = np.linalg.norm(np.nanmax(uv, axis=1) - np.nanmin(uv, axis=1), axis=-1)
                sizes[i] = float(np.nanmedian(diag)) if np.isfinite(diag).any() else 0.0
        order = np.lexsort((-sizes, -frames))  # last key is primary
        return self.select_tracks(order)

    def select_tracks(self, order: np.ndarray | list[int]) -> "Motion":
        """A copy holding only the tracks at positions `order`, in that order."""
        idx = np.asarray(order, dtype=np.intp)
        per_track = {f.name: getattr(self, f.name)[idx] for f in fields(self)
                     if f.name in ("joints_cam", "joints_2d", "visibility", "track_ids", "subject_height")}
        for name in ("contacts", "skeleton_cam", *_HAND_KEYS):
            if getattr(self, name) is not None:
                per_track[name] = getattr(self, name)[idx]
        return replace(self, **per_track)
