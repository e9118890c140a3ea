"""Running a SmoothNet refiner over whole tracks: windows, overlap averaging, short tracks and gaps.

Every window of T frames (stride `step`, plus one window flush with the end) is refined; a frame covered
by several windows gets the weighted mean of their outputs, which removes the seams a tiled
(non-overlapping) pass would leave. The weights taper towards the window's ends (a Hann window without
its zeros): a window knows least about its first and last frames, which have context on one side only,
and a plain mean lets every window's edge error enter 1/T of each frame as a small step, measured as
6 % more acceleration error on the rendered clips than the tapered mean. Windows are cut with `Tensor.unfold` (a view, no copy) and put back with one
`index_add_`, so a whole track is a handful of batched matrix products on the device.

Gaps: a person absent for some frames (NaN) splits the track into segments refined independently,
because a network that saw made-up values across a gap would smear the jump on re-entry into both sides.
A segment shorter than T is reflect-padded to T (the mirrored motion continues smoothly, unlike zero or
edge padding) and cropped back; a single frame has no temporal context and is returned unchanged.
"""
from __future__ import annotations

import numpy as np
import torch

from posebake_core.timeseries import segments

from .smoothnet import SmoothNetRefiner


def reflect_index(n: int, length: int) -> np.ndarray:
    """Indices 0..length-1 walked back and forth over 0..n-1 (reflection without repeating the edge),
    for any length, even longer than 2n (numpy's 'reflect' pad needs pad < n)."""
    if n == 1:
        return np.zeros(length, dtype=np.int64)
    period = 2 * (n - 1)
    i = np.arange(length) % period
    return np.where(i < n, i, period - i)


def taper(window: int) -> np.ndarray:
    """Per-position weights of a window's output: a Hann window of window + 2 points minus its two zeros,
    so every position, the first and last too, keeps a positive weight (a track's first frame is
    covered by one window only)."""
    return np.hanning(window + 2)[1:-1]


def window_starts(n: int, window: int, step: int) -> np.ndarray:
    """Start frames of the windows over n >= window frames: every `step`, plus one ending at frame n."""
    starts = np.arange(0, n - window + 1, step)
    if starts[-1] != n - window:
        starts = np.append(starts, n - window)
    return starts


#: Windows refined per call. Each window's activations are C x hidden floats per layer (~2 MB for the
#: 33-joint model, all layers), so all windows of a long track at once grew memory by ~1.3 MB per frame
#: (1,800 frames: 3.2 GB peak, issue #21); a fixed batch keeps it flat. Speed hardly depends on it: on 2 CPU
#: threads, a 1,800-frame track, 32-256 windows per call took 2.1-2.9 ms/frame across two runs, all 4096 at
#: once 3.3-3.6 (bench/results/memory.md).
WINDOW_BATCH = 64


@torch.no_grad()
def refine_segment(model: SmoothNetRefiner, rel: torch.Tensor, root: torch.Tensor, step: int = 1,
                   batch: int = WINDOW_BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """Refine one gap-free segment: rel (n, C), root (n, 3) on the model's device -> same shapes. Windows
    go through the model `batch` at a time and are summed into the output as they come, so memory is
    O(n + batch), not O(n * windows)."""
    n, T = rel.shape[0], model.window
    if n == 1:
        return rel.clone(), root.clone()
    if n < T:
        idx = torch.as_tensor(reflect_index(n, T), device=rel.device)
        r, o = model.refine(rel[idx].T[None], root[idx].T[None])
        return r[0].T[:n].contiguous(), o[0].T[:n].contiguous()
    starts = torch.as_tensor(window_starts(n, T, step), device=rel.device)
    x = torch.cat([rel, root], dim=1)  # (n, C+3)
    C = rel.shape[1]
    if len(starts) == (n - T) // step + 1:  # regular stride: unfold is a view
        wins = x.unfold(0, T, step)  # (W, C+3, T)
    else:
        wins = torch.cat([x.unfold(0, T, step), x[starts[-1]:].T[None]], dim=0)
    out = torch.zeros_like(x)
    count = torch.zeros(n, 1, dtype=x.dtype, device=x.device)
    offsets = torch.arange(T, device=x.device)
    taper_w = torch.as_tensor(taper(T), dtype=x.dtype, device=x.device)
    for b in range(0, wins.shape[0], batch):
        w = wins[b:b + batch]
        r, o = model.refine(w[:, :C], w[:, C:])
        y = torch.cat([r, o], dim=1).permute(0, 2, 1).reshape(-1, x.shape[1])  # (w*T, C+3)
        frames = (starts[b:b + batch, None] + offsets).reshape(-1)
        weight = taper_w.repeat(len(w))[:, None]
        out.index_add_(0, frames, y * weight)
        count.index_add_(0, frames, weight)
    out /= count
    return out[:, :C], out[:, C:]


def refine_track(model: SmoothNetRefiner, joints: np.ndarray, hips: tuple[int, int], step: int = 1,
                 device: str | torch.device = "cpu") -> np.ndarray:
    """Refine one person's (T, J, 3) joints (NaN where absent); returns a new float32 array.

    The root is the midpoint of the `hips` joints; the network refines the root trajectory and the
    root-relative joints separately (SmoothNetRefiner), and they are recombined afterwards. Frames with
    any non-finite joint are left exactly as they were.
    """
    joints = np.asarray(joints, dtype=np.float32)
    out = joints.copy()
    T, J, _ = joints.shape
    valid = np.isfinite(joints).all(axis=(1, 2))
    for a, b in segments(valid):
        if b - a == 1:  # nothing to smooth against; skip even the root split so the frame stays bit-exact
            continue
        seg = torch.as_tensor(joints[a:b], device=device)
        root = 0.5 * (seg[:, hips[0]] + seg[:, hips[1]])
        rel = (seg - root[:, None]).reshape(b - a, J * 3)
        r, o = refine_segment(model, rel, root, step=step, batch=WINDOW_BATCH)
        out[a:b] = (r.reshape(b - a, J, 3) + o[:, None]).cpu().numpy()
    return out
