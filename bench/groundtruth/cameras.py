"""Camera presets and camera maths for the ground-truth renders (pure numpy, no bpy).

World axes are Blender's: Z up, metres. The clip is placed so the subject's mean root position is at the
origin and the main direction of travel is +X. A "side" camera therefore stands on -Y looking at +Y and
sees the subject move left to right.

Conventions stored in the ground-truth file:
* OpenCV camera axes: x right, y down, z forward (Blender cameras look along their local -Z with +Y up,
  so ``R_cv = diag(1, -1, -1) @ R_blender_cam^T``);
* ``cam_R @ X_world + cam_t`` gives OpenCV camera coordinates;
* K uses pixel centres at integer coordinates (OpenCV), so the principal point of a W x H image with no
  lens shift is ((W - 1) / 2, (H - 1) / 2). fx = fy = lens / sensor_width * W (horizontal sensor fit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SENSOR_WIDTH_MM = 36.0
BLENDER_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Preset:
    """A camera recipe: where it stands relative to the clip and how it moves."""

    azimuth_deg: float     # 0 = side view from -Y; 90 = from +X (the subject walks towards it)
    elevation_deg: float   # camera height angle above the target
    lens_mm: float
    distance_scale: float  # multiplier on the distance that just fits the clip
    motion: str = "static"  # static | pan (fixed position, turns to follow) | track (moves alongside)
    world_rgb: tuple[float, float, float] = (0.6, 0.7, 0.8)
    sun_deg: tuple[float, float] = (45.0, 30.0)  # sun elevation, azimuth
    sun_strength: float = 3.0
    ground: str = "checker"    # checker | noise | bricks
    backdrop_rgb: tuple[float, float, float] | None = None  # a wall behind the subject, if any


PRESETS: dict[str, Preset] = {
    "side": Preset(0, 5, 35, 1.15, world_rgb=(0.55, 0.65, 0.8), ground="checker"),
    "three-quarter": Preset(45, 10, 50, 1.15, world_rgb=(0.8, 0.75, 0.65), sun_deg=(35, 120),
                            ground="noise", backdrop_rgb=(0.45, 0.5, 0.42)),
    "elevated": Preset(25, 35, 28, 1.15, world_rgb=(0.7, 0.72, 0.75), sun_deg=(60, -40),
                       sun_strength=4.0, ground="bricks"),
    "close": Preset(20, 8, 50, 1.2, motion="pan", world_rgb=(0.35, 0.38, 0.45), sun_deg=(30, 200),
                    sun_strength=2.5, ground="noise", backdrop_rgb=(0.6, 0.35, 0.3)),
    "far": Preset(-30, 6, 60, 1.6, world_rgb=(0.75, 0.8, 0.9), sun_deg=(50, 70), ground="checker"),
    "tracking": Preset(-10, 10, 24, 1.0, motion="track", world_rgb=(0.5, 0.6, 0.55),
                       sun_deg=(40, 160), ground="bricks", backdrop_rgb=(0.4, 0.42, 0.55)),
}


def intrinsics(lens_mm: float, width: int, height: int, sensor_mm: float = SENSOR_WIDTH_MM) -> np.ndarray:
    """Pinhole K (3, 3) for a Blender camera with horizontal sensor fit and no shift."""
    f = lens_mm / sensor_mm * width
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Blender camera rotation (3, 3; columns = camera x, y, z in world) looking from eye to target, Z up."""
    fwd = target - eye
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    return np.stack([right, up, -fwd], axis=1)


def world_to_cv(cam_rot_blender: np.ndarray, eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) mapping world points to OpenCV camera coordinates."""
    R = BLENDER_TO_CV @ cam_rot_blender.T
    return R, -R @ eye


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of (..., 3) OpenCV camera points to (..., 2) pixels."""
    uvw = points_cam @ K.T
    return uvw[..., :2] / uvw[..., 2:3]


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Moving average with edge padding, so a following camera does not copy the gait bounce."""
    if window <= 1 or len(x) < 3:
        return x
    pad = np.pad(x, ((window // 2, window // 2), (0, 0)), mode="edge")
    kernel = np.ones(window) / window
    return np.stack([np.convolve(pad[:, k], kernel, mode="valid")[: len(x)] for k in range(x.shape[1])], 1)


def camera_path(preset: Preset, root_xy: np.ndarray, width: int, height: int,
                body_height: float = 1.8, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame Blender camera rotations (T, 3, 3) and positions (T, 3) for `preset`.

    `root_xy` (T, 2) is the subject's ground track. The distance is chosen so that the body (plus a
    margin) fits in the frame: for static cameras the whole track, for moving ones about one body width.
    """
    T = len(root_xy)
    az, el = np.radians(preset.azimuth_deg), np.radians(preset.elevation_deg)
    view_dir = np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), -np.sin(el)])  # eye -> target
    view_h = np.array([view_dir[0], view_dir[1], 0.0])
    view_h /= np.linalg.norm(view_h)
    across = np.cross(view_h, [0.0, 0.0, 1.0])
    half_fov_x = np.arctan(SENSOR_WIDTH_MM / 2 / preset.lens_mm)
    half_fov_y = np.arctan(np.tan(half_fov_x) * height / width)
    if preset.motion == "static":
        spread = np.abs((root_xy - root_xy.mean(0)) @ across[:2]).max() + 0.7
        depth = np.abs((root_xy - root_xy.mean(0)) @ view_h[:2]).max()
    else:
        spread, depth = 0.9, 0.0
    half_h = body_height / 2 + 0.25
    dist = preset.distance_scale * max(spread / np.tan(half_fov_x), half_h / np.tan(half_fov_y)) + depth
    centre = np.array([0.0, 0.0, body_height * 0.5])
    follow = _smooth(np.c_[root_xy, np.zeros(T)], int(fps * 0.7) | 1)
    rots, eyes = np.zeros((T, 3, 3)), np.zeros((T, 3))
    base_eye = centre - view_dir * dist
    for t in range(T):
        if preset.motion == "static":
            eye, target = base_eye, centre
        elif preset.motion == "pan":
            eye, target = base_eye, centre + follow[t]
        elif preset.motion == "track":
            eye, target = base_eye + follow[t], centre + follow[t]
        else:
            raise ValueError(f"unknown camera motion {preset.motion!r}")
        rots[t], eyes[t] = look_at(eye, target), eye
    return rots, eyes
