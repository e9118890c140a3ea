"""PoseBake's own error statistics, measured on the rendered ground-truth clips, and a sampler for them.

SmoothNet learns to undo the noise it is trained on, so the training noise should look like the errors
the raw pipeline really makes, not like textbook white noise. `measure_profile` compares the raw
estimator output (rawcache.py) with the ground truth and splits the error into:

* bias: the per-clip mean offset of each joint (anatomical landmark vs skeleton joint centre, root scale
  error). It is constant in time, so no temporal filter can or should remove it: it is NOT injected;
* slow drift: the error low-passed with a Gaussian (sigma `SPLIT_SIGMA` frames);
* fast jitter: the rest, per joint and camera axis (depth is the largest, as expected for monocular),
  and its lag-1 autocorrelation: a landmark error lasts a few frames (consecutive frames look alike to
  the network), so it is not white; the sampler colours white noise to match it (`colour_sigma`);
* bursts: frames whose fast error energy exceeds `BURST_FACTOR` x the clip median (hard frames: occlusion,
  motion blur, a left/right confusion), as a rate and an amplitude ratio.

The root (mid-hip) error is measured relative to the camera distance, because the metric root solve turns
a fixed pixel error into a depth error proportional to distance. The profile is written to
``noise_profile.json`` beside this module so training is reproducible without re-running the estimator.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

PROFILE_PATH = Path(__file__).with_name("noise_profile.json")
SPLIT_SIGMA = 4.0  # frames at 30 fps: errors slower than ~0.3 s count as drift
BURST_FACTOR = 4.0
#: The training joints (see data.py) take the statistics of the scored joint named here.
GROUPS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def _group_of(eval_joint: str) -> str:
    return eval_joint.split("_", 1)[1]


def measure_profile() -> dict:
    """Error statistics of the raw estimator over all rendered GT clips (frame-weighted pools)."""
    from ..eval.joints import EVAL_JOINTS, gt_joints, mid_hip, pred_joints
    from .rawcache import raw_for_gt_clips

    fast = {g: [] for g in GROUPS}
    lag1, energy = 0.0, 0.0
    slow = {g: [] for g in GROUPS}
    energy_ratio, root_fast, root_slow, clips = [], [], [], []
    for name, motion, gt in raw_for_gt_clips():
        p = pred_joints(motion.joints_cam[0].astype(np.float64))
        g = gt_joints(gt)[: len(p)]
        ok = np.isfinite(p).all(axis=(1, 2))
        if ok.sum() < 20:  # too few detected frames to split fast from slow
            continue
        # longest run of detected frames: filtering across a gap would invent drift
        runs = np.split(np.arange(len(ok)), np.flatnonzero(np.diff(ok.astype(int))) + 1)
        run = max((r for r in runs if ok[r[0]]), key=len)
        p, g = p[run], g[run]
        pr, gr = mid_hip(p), mid_hip(g)
        rel = (p - pr[:, None]) - (g - gr[:, None])
        rel -= rel.mean(axis=0)  # bias removed
        s = gaussian_filter1d(rel, SPLIT_SIGMA, axis=0, mode="nearest")
        f = rel - s
        lag1, energy = lag1 + float((f[1:] * f[:-1]).sum()), energy + float((f * f).sum())
        for j, jn in enumerate(EVAL_JOINTS):
            fast[_group_of(jn)].append(f[:, j])
            slow[_group_of(jn)].append(s[:, j])
        e = (f ** 2).sum(axis=-1).mean(axis=1)
        energy_ratio.append(e / np.median(e))
        dist = np.linalg.norm(gr, axis=1, keepdims=True)
        re = (pr - gr) / dist
        re -= re.mean(axis=0)
        rs = gaussian_filter1d(re, SPLIT_SIGMA, axis=0, mode="nearest")
        root_fast.append(re - rs)
        root_slow.append(rs)
        clips.append({"name": name, "frames": int(len(run)), "distance_m": round(float(dist.mean()), 2)})
    ratio = np.concatenate(energy_ratio)
    hard = ratio > BURST_FACTOR
    std = lambda xs: np.concatenate(xs).std(axis=0).round(5).tolist()  # noqa: E731
    return {
        "clips": clips,
        "split_sigma_frames": SPLIT_SIGMA,
        "fast_std_m": {g: std(fast[g]) for g in GROUPS},  # per camera axis x, y, z
        "fast_lag1_autocorr": round(lag1 / energy, 3),
        "slow_std_m": {g: std(slow[g]) for g in GROUPS},
        "burst_rate": round(float(hard.mean()), 4),
        # rms amplitude of a hard frame relative to an ordinary one
        "burst_gain": round(float(np.sqrt(ratio[hard].mean() / ratio[~hard].mean())) if hard.any() else 1.0, 3),
        "root_fast_std_rel": std(root_fast),  # fraction of camera distance, per axis
        "root_slow_std_rel": std(root_slow),
    }


def _highpass_kernel(sigma_c: float, n: int = 257) -> np.ndarray:
    """Impulse response of: colour white noise with a Gaussian of `sigma_c` frames, then high-pass it the
    way `measure_profile` splits fast from slow (minus a Gaussian of SPLIT_SIGMA)."""
    d = np.zeros(n)
    d[n // 2] = 1.0
    g = gaussian_filter1d(d, sigma_c, mode="constant") if sigma_c > 0 else d
    return g - gaussian_filter1d(g, SPLIT_SIGMA, mode="constant")


@lru_cache(maxsize=16)
def colour_sigma(lag1: float) -> float:
    """Gaussian colouring (frames) whose noise, high-passed like the measured errors, has lag-1
    autocorrelation `lag1`; 0 (white) when the target is at or below white noise's own value."""
    def r(sc: float) -> float:
        k = _highpass_kernel(sc)
        return float((k[1:] * k[:-1]).sum() / (k * k).sum())
    lo, hi = 0.0, SPLIT_SIGMA
    if lag1 <= r(lo):
        return 0.0
    for _ in range(40):  # r grows monotonically with the colouring width: bisect
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if r(mid) < lag1 else (lo, mid)
    return 0.5 * (lo + hi)


def _fast_noise(rng: np.random.Generator, shape: tuple[int, ...], lag1: float | None) -> np.ndarray:
    """Unit fast noise along axis 1: white, or coloured to lag-1 autocorrelation `lag1` and scaled so that
    its high-passed part has unit spread, like the measured `fast_std_m` (which is a high-passed spread)."""
    white = rng.standard_normal(shape)
    if lag1 is None:
        return white
    sc = colour_sigma(lag1)
    k = _highpass_kernel(sc)
    coloured = gaussian_filter1d(white, sc, axis=1, mode="wrap") if sc > 0 else white
    return coloured / np.sqrt((k * k).sum())


def load_profile(path: Path | None = None) -> dict:
    """The shipped profile (the one the shipped weights were trained with), or another measured one."""
    return json.loads((path or PROFILE_PATH).read_text())


def sample_noise(rng: np.random.Generator, shape: tuple[int, int], groups: list[str], depth: np.ndarray,
                 profile: dict, level: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Noise for B sequences of T frames: (rel (B,T,J,3) metres, root (B,T,3) metres).

    `groups[j]` names each joint's statistics (GROUPS); `depth` (B,) is each sequence's camera distance.
    Each sequence draws its own level in [0.5, 1.5] x `level`, so the network sees easy and hard videos;
    slow drift is white noise low-passed at a random time scale and rescaled to the measured spread.
    """
    B, T = shape
    J = len(groups)
    scale = rng.uniform(0.5, 1.5, size=(B, 1, 1, 1)) * level
    f_std = np.array([profile["fast_std_m"][g] for g in groups])[None, None]  # (1,1,J,3)
    s_std = np.array([profile["slow_std_m"][g] for g in groups])[None, None]
    lag1 = profile.get("fast_lag1_autocorr")  # absent: white fast noise (the first shipped recipe)
    fast = _fast_noise(rng, (B, T, J, 3), lag1) * f_std
    burst = rng.random((B, T)) < profile["burst_rate"]
    burst |= np.roll(burst, 1, axis=1) & (rng.random((B, T)) < 0.5)  # some bursts last 2+ frames
    gain = np.where(burst, profile["burst_gain"] * rng.uniform(0.7, 1.5, size=(B, T)), 1.0)
    fast *= gain[:, :, None, None]
    sigma = rng.uniform(3.0, 8.0)
    slow = gaussian_filter1d(rng.standard_normal((B, T + 32, J, 3)), sigma, axis=1, mode="wrap")[:, 16:-16]
    slow = slow / (slow.std(axis=1, keepdims=True) + 1e-9) * s_std
    rel = (fast + slow) * scale
    d = depth[:, None, None]
    r_fast = _fast_noise(rng, (B, T, 3), lag1) * np.array(profile["root_fast_std_rel"]) * d
    r_fast *= gain[:, :, None]
    r_slow = gaussian_filter1d(rng.standard_normal((B, T + 32, 3)), sigma, axis=1, mode="wrap")[:, 16:-16]
    r_slow = r_slow / (r_slow.std(axis=1, keepdims=True) + 1e-9) * np.array(profile["root_slow_std_rel"]) * d
    root = (r_fast + r_slow) * scale[:, :, :, 0]
    return rel.astype(np.float32), root.astype(np.float32)


if __name__ == "__main__":  # python -m posebake_dev.smoothnet.noise [OUT.json]: re-measure (default: rewrite the shipped one)
    import sys

    prof = measure_profile()
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROFILE_PATH
    out.write_text(json.dumps(prof, indent=1) + "\n")
    print(json.dumps(prof, indent=1))
