"""Training and validation sequences from the CMU motion capture in ../shared/data.

Each motion is resampled to 30 fps (PoseBake's usual video rate), run through forward kinematics and
reduced to a BlazePose-like joint subset. A training window then gets a random camera (yaw all round,
elevation -10..35 degrees, distance 3-8 m, slight roll), optional mirroring and a speed change, and the
measured noise of noise.py. Which trials train, validate or are reserved is mocap/splits.py's rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..mocap.splits import VALIDATION, excluded_motions, sources, split, trial_positions
from posebake.paths import repo_root

FPS = 30.0
#: Joints kept (by position in the 38-joint CMU trees, which all three naming schemes share), with the
#: noise group of each (noise.GROUPS). "head" is the middle of the head bone, "toe" the toe base.
JOINTS = ("head", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip",
          "l_knee", "r_knee", "l_ankle", "r_ankle", "l_toe", "r_toe")
_CMU_INDEX = {"l_shoulder": 21, "r_shoulder": 30, "l_elbow": 22, "r_elbow": 31, "l_wrist": 23, "r_wrist": 32,
              "l_hip": 2, "r_hip": 8, "l_knee": 3, "r_knee": 9, "l_ankle": 4, "r_ankle": 10, "l_toe": 5,
              "r_toe": 11}
NOISE_GROUP = ("shoulder", "shoulder", "shoulder", "elbow", "elbow", "wrist", "wrist", "hip", "hip", "knee",
               "knee", "ankle", "ankle", "ankle", "ankle")
HIPS = (JOINTS.index("l_hip"), JOINTS.index("r_hip"))
MIRROR = tuple(JOINTS.index(n.replace("l_", "#").replace("r_", "l_").replace("#", "r_")) for n in JOINTS)


def load_positions(path: Path) -> np.ndarray:
    """(T, len(JOINTS), 3) metres at 30 fps, Y-up source axes."""
    pos = trial_positions(path, FPS)
    head = 0.5 * (pos[:, 18] + pos[:, 19])
    return np.concatenate([head[:, None], pos[:, [_CMU_INDEX[j] for j in JOINTS[1:]]]], axis=1).astype(np.float32)


def load_split(cache: Path | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{'train': {id: positions}, 'val': {...}}; FK results cached as one npz (the AMC parse is slow)."""
    cache = cache or repo_root() / "bench" / ".work" / "smoothing" / "cmu_positions.npz"
    parts = split()
    wanted = parts["train"] + parts["val"]
    src = sources()
    if cache.is_file():
        with np.load(cache) as z:
            have = {k: z[k] for k in z.files}
    else:
        have = {}
    if set(wanted) - set(have):
        have.update({k: load_positions(src[k]) for k in wanted if k not in have})
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **have)
    return {"train": {k: have[k] for k in wanted if k not in VALIDATION},
            "val": {k: have[k] for k in wanted if k in VALIDATION}}


def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) about axis 0/1/2 (x/y/z) by the angles `a` (radians)."""
    a = np.asarray(a, dtype=np.float64)
    return Rotation.from_euler("xyz"[axis], a.reshape(-1, 1)).as_matrix().reshape(a.shape + (3, 3))


@dataclass
class Batch:
    clean: np.ndarray  # (B, T, J, 3) camera axes, metres
    noisy: np.ndarray


def sample_clean(rng: np.random.Generator, motions: list[np.ndarray], B: int, T: int,
                 augment: bool = True, mirror: tuple[int, ...] = MIRROR, hips: tuple[int, ...] = HIPS,
                 distance: tuple[float, float] = (3.0, 8.0)) -> np.ndarray:
    """B windows of T frames in OpenCV camera axes, each from a random motion, time, camera and speed.

    `motions` are (T, J, 3) Y-up arrays whose joints `mirror` swaps left for right and whose `hips` give
    the root; the camera stands `distance` metres (uniform) from the window's mean root."""
    out = np.empty((B, T) + motions[0].shape[1:], np.float32)
    lengths = np.array([len(m) for m in motions], float)
    pick = rng.choice(len(motions), size=B, p=lengths / lengths.sum())
    for b, k in enumerate(pick):
        m = motions[k]
        speed = rng.uniform(0.75, 1.35) if augment else 1.0
        span = (T - 1) * speed
        if span >= len(m) - 1:
            speed, span = (len(m) - 1) / (T - 1), len(m) - 1
        t0 = rng.uniform(0, len(m) - 1 - span)
        t = t0 + np.arange(T) * speed
        i0 = np.floor(t).astype(int)
        i1 = np.minimum(i0 + 1, len(m) - 1)
        u = (t - i0)[:, None, None]
        x = m[i0] * (1 - u) + m[i1] * u
        if augment and rng.random() < 0.5:
            x = x[:, list(mirror)] * np.array([-1.0, 1.0, 1.0])
        out[b] = x
    centre = out[:, :, list(hips)].mean(axis=(1, 2))  # (B, 3) window mean root
    yaw = rng.uniform(0, 2 * np.pi, B)
    elev = np.radians(rng.uniform(-10, 35, B))
    roll = np.radians(rng.normal(0, 3, B))
    dist = rng.uniform(*distance, B)
    # world (Y-up) -> camera looking horizontally along -Z world from +Z side after the yaw, then tilt
    flip = np.diag([1.0, -1.0, -1.0])  # Y-up, camera looking down -Z  ->  OpenCV (y down, z forward)
    R = _rot(2, roll) @ _rot(0, -elev) @ flip @ _rot(1, -yaw)  # (B,3,3)
    cam = np.einsum("bij,btkj->btki", R, out - centre[:, None, None])
    cam[..., 2] += dist[:, None, None]
    return cam.astype(np.float32)


def make_batch(rng: np.random.Generator, motions: list[np.ndarray], B: int, T: int, profile: dict,
               augment: bool = True) -> Batch:
    from .noise import sample_noise

    clean = sample_clean(rng, motions, B, T, augment)
    depth = clean[:, :, list(HIPS), 2].mean(axis=(1, 2))
    rel, root = sample_noise(rng, (B, T), list(NOISE_GROUP), depth, profile)
    return Batch(clean, clean + rel + root[:, :, None])
