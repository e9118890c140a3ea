"""Training windows for the lifter: CMU joint centres, a random camera, BlazePose-like 2D with its errors.

A window is made the way a real track reaches the lifter:

1. joint centres of a CMU trial (30 fps, `load_centres`), a random stretch, speed and mirroring, seen by a
   random camera (yaw all round, elevation -10..35 degrees, 2.5-12 m: `smoothnet.data.sample_clean`);
2. BlazePose-like 3D landmarks (`synth.landmarks` with the measured offsets), projected to rays;
3. BlazePose's 2D errors in the lifter's own normalised units (profile.py measured them on the rendered
   clips): slow drift, coloured fast jitter, bursts, a visibility drawn from the landmark's real
   distribution with larger errors where it is low, and short gaps (frames the tracker lost) filled by
   linear interpolation with visibility 0, as `posebake.lifting.lift` fills them;
4. `posebake.lifting.inputs` turns the noisy rays into the network input exactly as at run time; the
   target is the joint centres relative to the pelvis in the same virtual camera.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..mocap.splits import sources, split, trial_positions
from ..smoothnet.data import FPS, sample_clean
from ..smoothnet.noise import _fast_noise
from . import synth
from posebake.lifting.inputs import LIFT_INPUTS, normalise, to_virtual, virtual_rotation, window_scale
from posebake.paths import repo_root
from posebake_core.skeleton import CENTRE_JOINTS, CENTRE_MIRROR

#: CENTRE_JOINTS as indices of the 38-joint CMU tree (BVH and ASF/AMC share its order): each is a bone head.
CMU_INDEX: tuple[int, ...] = (0, 2, 8, 3, 9, 4, 10, 5, 11, 14, 15, 16, 18, 21, 30, 22, 31, 23, 32)
HIPS = (CENTRE_JOINTS.index("left_hip"), CENTRE_JOINTS.index("right_hip"))
_IN_HIPS = (LIFT_INPUTS.index("left_hip"), LIFT_INPUTS.index("right_hip"))
#: Camera distances (m): a close selfie-stick shot to a far sports shot; the GT clips span 2.4-7.5 m.
DISTANCE = (2.5, 12.0)


def load_centres(path: Path) -> np.ndarray:
    """(T, len(CENTRE_JOINTS), 3) joint centres in metres at 30 fps, Y-up source axes."""
    return trial_positions(path, FPS)[:, list(CMU_INDEX)].astype(np.float32)


def load_split(cache: Path | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{'train': {id: centres}, 'val': {...}} per mocap/splits.py; FK results cached (AMC parsing is slow)."""
    cache = cache or repo_root() / "bench" / ".work" / "lifter" / "cmu_centres.npz"
    parts, src = split(), sources()
    wanted = parts["train"] + parts["val"]
    have: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache) as z:
            have = {k: z[k] for k in z.files}
    if set(wanted) - set(have):
        have.update({k: load_centres(src[k]) for k in wanted if k not in have})
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **have)
    return {name: {k: have[k] for k in parts[name]} for name in ("train", "val")}


def _slow(rng: np.random.Generator, shape: tuple[int, ...], std: np.ndarray) -> np.ndarray:
    """Drift along axis 1: white noise low-passed at a random time scale, rescaled to `std`."""
    sigma = rng.uniform(3.0, 8.0)
    B, T = shape[:2]
    x = gaussian_filter1d(rng.standard_normal((B, T + 32) + shape[2:]), sigma, axis=1, mode="wrap")[:, 16:-16]
    return x / (x.std(axis=1, keepdims=True) + 1e-9) * std


def sample_visibility(rng: np.random.Generator, B: int, T: int, profile: dict) -> np.ndarray:
    """(B, T, J_in) visibilities: a slow random process per landmark mapped through that landmark's
    measured quantiles, so each landmark's values are distributed as BlazePose's and change smoothly."""
    q = np.array(profile["visibility_quantiles"])  # (J_in, Q)
    z = gaussian_filter1d(rng.standard_normal((B, T + 16, q.shape[0])), rng.uniform(2.0, 10.0), axis=1)[:, 8:-8]
    z = z / (z.std(axis=1, keepdims=True) + 1e-9)
    u = np.clip(0.5 * (1 + np.tanh(z * 0.8)), 0, 1)  # ~uniform in [0, 1] (logistic approximation of the CDF)
    pos = u * (q.shape[1] - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, q.shape[1] - 1)
    frac = pos - lo
    j = np.arange(q.shape[0])
    return q[j, lo] * (1 - frac) + q[j, hi] * frac


def add_noise(rng: np.random.Generator, x: np.ndarray, vis: np.ndarray, profile: dict,
              level: float = 1.0) -> np.ndarray:
    """Normalised 2D (B, T, J_in, 2) plus BlazePose-like errors (profile["noise"], normalised units)."""
    B, T, J, _ = x.shape
    n = profile["noise"]
    scale = rng.uniform(0.5, 1.5, size=(B, 1, 1, 1)) * level
    fast = _fast_noise(rng, (B, T, J, 2), n["fast_lag1_autocorr"]) * np.array(n["fast_std"])
    burst = rng.random((B, T)) < n["burst_rate"]
    burst |= np.roll(burst, 1, axis=1) & (rng.random((B, T)) < 0.5)
    fast *= np.where(burst, n["burst_gain"] * rng.uniform(0.7, 1.5, size=(B, T)), 1.0)[:, :, None, None]
    slow = _slow(rng, (B, T, J, 2), np.array(n["slow_std"]))
    low = (vis < n["low_visibility"])[..., None]
    return x + (fast + slow) * scale * np.where(low, n["low_visibility_gain"], 1.0)


def drop_frames(rng: np.random.Generator, x: np.ndarray, vis: np.ndarray, rate: float) -> None:
    """In place: with probability `rate` per window, a gap of 1-10 frames the tracker lost, linearly
    interpolated from its neighbours (held at the window's ends) with visibility 0."""
    B, T = x.shape[:2]
    for b in np.flatnonzero(rng.random(B) < rate):
        n = int(rng.integers(1, 11))
        t0 = int(rng.integers(0, T - n + 1))
        a, z = t0 - 1, t0 + n
        for t in range(t0, t0 + n):
            if a < 0 and z >= T:
                break
            w = 0.0 if z >= T else 1.0 if a < 0 else (t - a) / (z - a)
            x[b, t] = (x[b, max(a, 0)] * (1 - w) + x[b, min(z, T - 1)] * w)
        vis[b, t0:t0 + n] = 0.0


def make_batch(rng: np.random.Generator, motions: list[np.ndarray], B: int, T: int, profile: dict,
               augment: bool = True, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(input (B, T, J_in, 3) float32, target (B, T, len(CENTRE_JOINTS), 3) float32 metres)."""
    cam = sample_clean(rng, motions, B, T, augment, mirror=CENTRE_MIRROR, hips=HIPS, distance=DISTANCE)
    cam = cam.astype(np.float64)
    lm = synth.landmarks(cam, np.array(profile["offsets"]))
    xy = lm[..., :2] / lm[..., 2:3]
    vis = sample_visibility(rng, B, T, profile) if noise else np.ones(xy.shape[:3])
    if noise:  # errors are measured in normalised units: scale them back to rays per window
        s = np.array([window_scale(w - 0.5 * (w[:, _IN_HIPS[0]] + w[:, _IN_HIPS[1]])[:, None]) for w in xy])
        rel = xy - 0.5 * (xy[:, :, _IN_HIPS[0]] + xy[:, :, _IN_HIPS[1]])[:, :, None]
        xy = xy + (add_noise(rng, rel / s[:, None, None, None], vis, profile) - rel / s[:, None, None, None]) \
            * s[:, None, None, None]
        drop_frames(rng, xy, vis, profile["noise"]["gap_rate"])
    inp = np.empty(xy.shape[:3] + (3,), np.float32)
    tgt = np.empty(cam.shape, np.float32)
    for b in range(B):
        R = virtual_rotation(0.5 * (xy[b, :, _IN_HIPS[0]] + xy[b, :, _IN_HIPS[1]]))
        inp[b, ..., :2] = normalise(to_virtual(xy[b], R))[0]
        inp[b, ..., 2] = vis[b]
        tgt[b] = np.einsum("tij,tkj->tki", R, cam[b] - cam[b, :, :1])
    return inp, tgt
