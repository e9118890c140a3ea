"""Lift a track's BlazePose 2D landmarks to metric joint centres with the shipped DSTformer.

    from posebake.lifting.lift import lift_track
    centres = lift_track(uv, vis, K)   # (T, len(CENTRE_JOINTS), 3) root-relative, camera axes, metres

A track is cut into windows of the network's length T that overlap by `OVERLAP` x T frames and are cross-faded
linearly there (a window's first and last frames see one side of the motion only); a track shorter than T
is padded by holding its last frame. Frames the tracker lost inside a track are filled by linear
interpolation with visibility 0, the way the training data marks them (lifter/data.py `drop_frames`).
`flip` averages the prediction with that of the mirrored input (test-time flip augmentation). Finally each
bone gets its median length over the track (`rigid_bones`): a person's bones do not change length.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .inputs import INPUT_MIRROR, network_input, to_camera, virtual_rays
from posebake_core.errors import PoseBakeError
from posebake_core.skeleton import CENTRE_MIRROR, CENTRE_PARENTS

WEIGHTS = Path(__file__).resolve().parent.parent / "data" / "lifter_T27.pt"
#: The frame rate of the training motion (posebake_dev/lifter/data.py resamples the mocap to it).
TRAIN_FPS = 30.0
#: Share of a window that neighbouring windows overlap (cross-faded there).
OVERLAP = 0.25


@lru_cache(maxsize=4)
def load_lifter(path: str = str(WEIGHTS), device: str = "cpu"):
    """The DSTformer in `path` (float16 state + config, see posebake_dev/lifter/train.py), in float32."""
    import torch

    from .model import DSTformer, LifterConfig

    if not Path(path).is_file():
        raise PoseBakeError(f"no lifter weights at {path}; train them with `posebake train-lifter`")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = DSTformer(LifterConfig(**blob["config"]))
    model.load_state_dict({k: v.float() for k, v in blob["state"].items()})
    return model.eval().to(device)


def fill_gaps(uv: np.ndarray, vis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over frames whose landmarks are not finite (held at the ends); visibility 0."""
    ok = np.isfinite(uv).all(axis=(1, 2))
    if ok.all():
        return uv, vis
    t = np.arange(len(uv))
    flat = uv.reshape(len(uv), -1)
    out = np.stack([np.interp(t, t[ok], flat[ok, k]) for k in range(flat.shape[1])], axis=1)
    vis = vis.copy()
    vis[~ok] = 0.0
    return out.reshape(uv.shape), vis


def overlap(T: int) -> int:
    """Frames two neighbouring windows of length T share."""
    return max(1, int(round(OVERLAP * T)))


def _windows(n: int, T: int) -> list[int]:
    """Start frames of the windows covering n frames (the last one ends at the track's end)."""
    if n <= T:
        return [0]
    starts = list(range(0, n - T, T - overlap(T))) + [n - T]
    return sorted(set(starts))


def _run(model, x: np.ndarray, flip: bool) -> np.ndarray:
    """Network output (B, T, J_out, 3) for inputs (B, T, J_in, 3), optionally averaged with the flip."""
    import torch

    dev = next(model.parameters()).device
    with torch.inference_mode():
        y = model(torch.from_numpy(x).to(dev)).float().cpu().numpy()
        if flip:
            xf = x[:, :, list(INPUT_MIRROR)].copy()
            xf[..., 0] *= -1
            yf = model(torch.from_numpy(xf).to(dev)).float().cpu().numpy()[:, :, list(CENTRE_MIRROR)]
            yf[..., 0] *= -1
            y = 0.5 * (y + yf)
    return y - y[:, :, :1]


def rigid_bones(joints: np.ndarray) -> np.ndarray:
    """(T, J, 3) joint centres rebuilt from the pelvis outwards with each bone's median length over the
    track and the predicted bone directions: bone-length variation becomes zero, directions are kept."""
    out = joints.copy()
    for j, p in enumerate(CENTRE_PARENTS):
        if p < 0:
            continue
        d = joints[:, j] - joints[:, p]
        length = np.linalg.norm(d, axis=-1, keepdims=True)
        out[:, j] = out[:, p] + d / np.maximum(length, 1e-9) * np.median(length)
    return out


def lift_track(uv: np.ndarray, vis: np.ndarray, K: np.ndarray, flip: bool = True, device: str = "cpu",
               weights: str | Path = WEIGHTS, batch: int = 32, fps: float = TRAIN_FPS) -> np.ndarray:
    """(T, 33, 2) pixels + (T, 33) visibility of one track's present frames -> (T, J, 3) joint centres,
    pelvis-relative, in the camera's axes, metres. Frames that are NaN inside the track are filled.

    The network learned motion at 30 fps (speeds 0.75-1.35x); a 60 fps video would look like slow motion
    to it, so video at 45 fps and above is lifted on every k-th frame (k = round(fps / 30)) and the result
    interpolated back to every frame."""
    uv, vis = fill_gaps(np.asarray(uv, np.float64), np.asarray(vis, np.float64))
    k = max(1, int(round(fps / TRAIN_FPS)))
    if k > 1 and len(uv) > k:
        t = np.arange(len(uv))
        sub = t[::k] if t[::k][-1] == t[-1] else np.append(t[::k], t[-1])
        coarse = lift_track(uv[sub], vis[sub], K, flip, device, weights, batch)
        flat = coarse.reshape(len(sub), -1)
        fine = np.stack([np.interp(t, sub, flat[:, c]) for c in range(flat.shape[1])], axis=1)
        return rigid_bones(fine.reshape((len(t),) + coarse.shape[1:])).astype(np.float32)
    model = load_lifter(str(weights), str(device))
    T = model.cfg.window
    n = len(uv)
    xy, R = virtual_rays(uv, K)
    if n < T:  # pad by holding the last frame; the padding's output is dropped
        x = network_input(xy, vis)
        wins = [np.concatenate([x, np.repeat(x[-1:], T - n, axis=0)])]
        starts = [0]
    else:  # each window normalised with its own size, as in training (a person walking closer grows)
        starts = _windows(n, T)
        wins = [network_input(xy[s:s + T], vis[s:s + T]) for s in starts]
    y = np.concatenate([_run(model, np.stack(wins[i:i + batch]), flip) for i in range(0, len(wins), batch)])
    length = max(n, T)
    acc = np.zeros((length,) + y.shape[2:])
    weight = np.zeros(length)
    ramp = np.ones(T)
    if len(starts) > 1:
        k = overlap(T)
        ramp[:k] = ramp[-k:][::-1] = np.linspace(0.05, 1.0, k)
    for s, w in zip(starts, y):
        acc[s:s + T] += w * ramp[:, None, None]
        weight[s:s + T] += ramp
    out = (acc / weight[:, None, None])[:n]
    return rigid_bones(to_camera(out, R)).astype(np.float32)
