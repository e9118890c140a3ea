"""Measure how BlazePose's 2D landmarks differ from joint centres, on the rendered ground-truth clips.

    python -m posebake_dev.lifter.profile [OUT.json]     (default: rewrite the shipped lifter_profile.json)

Two parts, both from the raw estimator's 2D (rawcache.py, GT focal) against the projected GT joints:

* offsets: per input landmark the constant vector, in its segment's frame (synth.py), that best moves the
  anchor joint centre onto BlazePose's landmark: linear least squares on the projection linearised at the
  anchor, solved twice (the second linearised at the first answer), frames with visibility >= 0.5 only;
* noise: what is left, in the lifter's normalised input units (inputs.normalise of the observed track):
  its drift (low-passed, sigma SPLIT_SIGMA frames) and jitter spreads per landmark and axis, the jitter's
  lag-1 autocorrelation, bursts (frames whose error energy exceeds BURST_FACTOR x the clip median), how much
  larger errors are where visibility is low, the visibility's quantiles per landmark and the rate of lost
  frames. The clips are evaluation clips: only these error statistics are taken from them, never poses.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import synth
from posebake.lifting.inputs import LIFT_INDEX, LIFT_INPUTS, normalise, rays, to_virtual, virtual_rotation
from posebake_core.skeleton import CENTRE_JOINTS

PROFILE_PATH = Path(__file__).with_name("lifter_profile.json")
SPLIT_SIGMA = 4.0  # frames: as smoothnet/noise.py, errors slower than ~0.3 s are drift
BURST_FACTOR = 4.0
LOW_VISIBILITY = 0.5
QUANTILES = 21
_HIPS = (LIFT_INPUTS.index("left_hip"), LIFT_INPUTS.index("right_hip"))
#: CENTRE_JOINTS -> the ground truth's CMU bone (cgspeed names) whose head is that joint centre.
GT_NAMES: dict[str, str] = {
    "pelvis": "Hips", "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg", "left_knee": "LeftLeg",
    "right_knee": "RightLeg", "left_ankle": "LeftFoot", "right_ankle": "RightFoot", "left_toe": "LeftToeBase",
    "right_toe": "RightToeBase", "spine": "Spine", "chest": "Spine1", "neck": "Neck", "head": "Head",
    "left_shoulder": "LeftArm", "right_shoulder": "RightArm", "left_elbow": "LeftForeArm",
    "right_elbow": "RightForeArm", "left_wrist": "LeftHand", "right_wrist": "RightHand",
}


def gt_centres(gt: dict[str, np.ndarray], key: str = "joints_cam") -> np.ndarray:
    """(T, len(CENTRE_JOINTS), 3) ground-truth joint centres from a groundtruth/1 dict."""
    names = [str(n) for n in gt["joint_names"]]
    return np.asarray(gt[key], np.float64)[:, [names.index(GT_NAMES[j]) for j in CENTRE_JOINTS]]


def _jacobian(X: np.ndarray) -> np.ndarray:
    """(N, 2, 3) derivative of the ray (x/z, y/z) at the points X (N, 3)."""
    z = X[:, 2]
    J = np.zeros((len(X), 2, 3))
    J[:, 0, 0] = J[:, 1, 1] = 1 / z
    J[:, 0, 2], J[:, 1, 2] = -X[:, 0] / z ** 2, -X[:, 1] / z ** 2
    return J


def fit_offsets(clips: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """(J_in, 3) offsets from (GT centres (T,19,3), observed rays (T,J_in,2), visibility (T,J_in)) clips."""
    X = np.concatenate([c[0] for c in clips])
    obs = np.concatenate([c[1] for c in clips])
    vis = np.concatenate([c[2] for c in clips])
    F, A = synth.segment_frames(X), synth.anchors(X)
    out = np.zeros((len(LIFT_INPUTS), 3))
    for j in range(len(LIFT_INPUTS)):
        ok = (vis[:, j] >= LOW_VISIBILITY) & np.isfinite(obs[:, j]).all(-1)
        o = np.zeros(3)
        for _ in range(2):
            P = A[ok, j] + F[ok, j] @ o
            r = obs[ok, j] - P[:, :2] / P[:, 2:3]
            M = _jacobian(P) @ F[ok, j]  # (N, 2, 3)
            o = o + np.linalg.lstsq(M.reshape(-1, 3), r.reshape(-1), rcond=None)[0]
        out[j] = o
    return out


def measure_profile() -> dict:
    from ..smoothnet.rawcache import raw_for_gt_clips

    clips, meta = [], []
    for name, motion, gt in raw_for_gt_clips():
        K = np.asarray(gt["K"], np.float64)
        n = min(motion.num_frames, len(gt["joints_cam"]))
        uv = motion.joints_2d[0, :n][:, list(LIFT_INDEX)].astype(np.float64)
        vis = motion.visibility[0, :n][:, list(LIFT_INDEX)].astype(np.float64)
        clips.append((gt_centres(gt)[:n], rays(uv, K), vis))
        meta.append({"name": name, "frames": n})
    offsets = fit_offsets(clips)
    fast, slow, lag_num, lag_den, ratios, low_err, high_err, lost = [], [], 0.0, 0.0, [], [], [], []
    for X, obs, vis in clips:
        ok = np.isfinite(obs).all(axis=(1, 2))
        lost.append(1 - ok.mean())
        runs = np.split(np.arange(len(ok)), np.flatnonzero(np.diff(ok.astype(int))) + 1)
        run = max((r for r in runs if ok[r[0]]), key=len)
        if len(run) < 20:
            continue
        X, obs, vis = X[run], obs[run], vis[run]
        lm = synth.landmarks(X, offsets)
        syn = lm[..., :2] / lm[..., 2:3]
        R = virtual_rotation(0.5 * (obs[:, _HIPS[0]] + obs[:, _HIPS[1]]))  # the observed mid-hip, as at run time
        o_n, s = normalise(to_virtual(obs, R))
        sv = to_virtual(syn, R)  # the synthetic landmarks, normalised with the observed track's scale
        err = o_n - (sv - 0.5 * (sv[:, _HIPS[0]] + sv[:, _HIPS[1]])[:, None]) / s
        err -= err.mean(axis=0)  # what the offsets did not explain (a per-clip bias) is not noise
        sl = gaussian_filter1d(err, SPLIT_SIGMA, axis=0, mode="nearest")
        f = err - sl
        fast.append(f)
        slow.append(sl)
        lag_num, lag_den = lag_num + float((f[1:] * f[:-1]).sum()), lag_den + float((f * f).sum())
        e = (f ** 2).sum(axis=-1).mean(axis=1)
        ratios.append(e / np.median(e))
        mag = np.linalg.norm(err, axis=-1)
        low_err.append(mag[vis < LOW_VISIBILITY])
        high_err.append(mag[vis >= LOW_VISIBILITY])
    ratio = np.concatenate(ratios)
    hard = ratio > BURST_FACTOR
    all_vis = np.concatenate([c[2] for c in clips])
    rms = lambda a: float(np.sqrt(np.mean(np.concatenate(a) ** 2)))  # noqa: E731
    low_gain = rms(low_err) / rms(high_err) if sum(map(len, low_err)) else 1.0
    return {
        "clips": meta,
        "inputs": list(LIFT_INPUTS),
        "offsets": offsets.round(4).tolist(),
        "noise": {
            "fast_std": np.concatenate(fast).std(axis=0).round(5).tolist(),
            "slow_std": np.concatenate(slow).std(axis=0).round(5).tolist(),
            "fast_lag1_autocorr": round(lag_num / lag_den, 3),
            "burst_rate": round(float(hard.mean()), 4),
            "burst_gain": round(float(np.sqrt(ratio[hard].mean() / ratio[~hard].mean())) if hard.any() else 1.0, 3),
            "low_visibility": LOW_VISIBILITY,
            "low_visibility_gain": round(low_gain, 3),
            "gap_rate": round(float(np.mean(lost)), 4),
        },
        "visibility_quantiles": np.nanquantile(all_vis, np.linspace(0, 1, QUANTILES), axis=0).T.round(4).tolist(),
    }


def load_profile(path: Path | None = None) -> dict:
    return json.loads((path or PROFILE_PATH).read_text())


if __name__ == "__main__":
    import sys

    prof = measure_profile()
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROFILE_PATH
    out.write_text(json.dumps(prof, indent=1) + "\n")
    print(json.dumps({k: v for k, v in prof.items() if k != "visibility_quantiles"}, indent=1))
