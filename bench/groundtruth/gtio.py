"""Reading ground-truth clips back (no bpy): the GT file, the silhouette masks, the video frames.

Also `overlay`, which draws the projected GT joints on a frame: the quickest way to see with one's own
eyes that the ground truth sits on the rendered character.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SCHEMA = "posebake.groundtruth/1"


def load_gt(path: str | Path) -> dict[str, np.ndarray]:
    """The `NAME_gt.npz` arrays as a dict; checks the schema tag."""
    with np.load(path, allow_pickle=False) as z:
        gt = {k: z[k] for k in z.files}
    if str(gt.get("schema")) != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} file")
    return gt


def load_mask(path: str | Path) -> np.ndarray:
    """(T, H, W) bool silhouettes from `NAME_mask.npz`."""
    with np.load(path) as z:
        T, H, W = (int(v) for v in z["shape"])
        return np.unpackbits(z["mask_bits"], axis=-1, count=W).astype(bool).reshape(T, H, W)


def read_frames(path: str | Path) -> np.ndarray:
    """All frames of a video as (T, H, W, 3) uint8 BGR."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise ValueError(f"{path}: no frames decoded")
    return np.array(frames)


def project_gt(gt: dict[str, np.ndarray], key: str = "joints_cam") -> np.ndarray:
    """Pixel coordinates (T, J, 2) of camera-space GT points projected with K."""
    uvw = gt[key].astype(np.float64) @ gt["K"].T
    return uvw[..., :2] / uvw[..., 2:3]


def overlay(frame: np.ndarray, uv: np.ndarray, colour: tuple[int, int, int] = (0, 0, 255)) -> np.ndarray:
    """A copy of `frame` with a dot at each (u, v)."""
    out = frame.copy()
    for u, v in uv:
        cv2.circle(out, (int(round(u)), int(round(v))), 2, colour, -1)
    return out
