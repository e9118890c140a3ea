"""Train a SmoothNet refiner on CMU motion with PoseBake-shaped noise (CPU, minutes).

    posebake train-smoothnet --window 32 --variant motion --steps 3000 --seed 0 -o backend/posebake/data/smoothnet_T32.pt

Data: data.py (CMU mocap, random cameras 3-8 m, mirroring, speed changes, GT-clip motions excluded,
whole motions held out for validation). Noise: noise.py (statistics measured on PoseBake's raw output).
Loss: L1 position + 0.1 x L1 acceleration, for the root-relative joints in metres and for the root
trajectory in depth-normalised units (metres at 5 m), so far-away subjects do not dominate. Adam with
a cosine-decayed learning rate. Every random draw comes from one seeded generator per purpose, so the
same command reproduces the same weights on the same torch build.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import data
from .noise import load_profile
from posebake.smoothing.smoothnet import ROOT_SCALE, SmoothNetRefiner
from posebake.smoothing.windows import reflect_index, refine_track


@dataclass
class TrainConfig:
    window: int = 32
    variant: str = "basic"
    steps: int = 3000
    batch: int = 64  # windows per step (x 48 coordinate rows each)
    lr: float = 1e-3
    seed: int = 0
    threads: int = 1
    dropout: float = 0.1
    skip: bool = False  # global input->output skip (see smoothnet.SmoothNet); the first shipped recipe had it
    white_noise: bool = False  # ignore the measured autocorrelation: white fast noise (the first recipe)
    short_frac: float = 0.0  # share of windows cut to a short segment and reflect-padded (see pad_short)
    noise_profile: str | None = None  # measured noise profile (JSON); None: the shipped noise_profile.json


def split_root(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, J, 3) -> rel (B, J*3, T), root (B, 3, T)."""
    root = x[:, :, list(data.HIPS)].mean(dim=2)
    rel = (x - root[:, :, None]).flatten(2).transpose(1, 2)
    return rel, root.transpose(1, 2)


def _l1_with_accel(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """L1 position + 0.1 x L1 acceleration over (B, C, T); with a (B, T) mask, only over real frames (and
    accelerations whose three frames are all real)."""
    acc = lambda v: v[..., 2:] - 2 * v[..., 1:-1] + v[..., :-2]  # noqa: E731
    if mask is None:
        return (pred - target).abs().mean() + 0.1 * (acc(pred) - acc(target)).abs().mean()
    m = mask[:, None].to(pred.dtype).expand_as(pred)
    ma = m[..., 2:] * m[..., 1:-1] * m[..., :-2]
    return ((pred - target).abs() * m).sum() / m.sum() + 0.1 * ((acc(pred) - acc(target)).abs() * ma).sum() / ma.sum()


def loss_fn(model: SmoothNetRefiner, noisy: torch.Tensor, clean: torch.Tensor,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    rel_n, root_n = split_root(noisy)
    rel_c, root_c = split_root(clean)
    rel_p, root_p = model.refine(rel_n, root_n)
    depth = root_c[:, 2:3].mean(dim=2, keepdim=True)
    return (_l1_with_accel(rel_p, rel_c, mask)
            + _l1_with_accel(root_p / depth * ROOT_SCALE, root_c / depth * ROOT_SCALE, mask))


def pad_short(rng: np.random.Generator, clean: np.ndarray, noisy: np.ndarray,
              frac: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a share `frac` of the (B, T, J, 3) windows to their first n frames (2 <= n < T) and reflect-pad
    them back to T exactly as inference pads a short segment (windows.reflect_index); returns clean,
    noisy and the (B, T) mask of real frames.

    Why: real tracks are often shorter than T (a person walks in late, detection drops out) and every
    segment has ends, but full windows never show the network a reflected window. On the rendered clips
    (raw estimates of the time) the shipped T=32 model lost to the Gaussian filter on acceleration error
    only within 4 frames of a segment end (8.6 vs 8.3 mm/f²) while winning further in (6.0 vs 6.1).
    Training with it gave no gain on either validation set (bench/results/smoothing.md, notes), so the
    shipped recipe does not use it.
    """
    B, T = clean.shape[:2]
    mask = np.ones((B, T), bool)
    clean, noisy = clean.copy(), noisy.copy()
    for b in np.flatnonzero(rng.random(B) < frac):
        n = int(rng.integers(2, T))
        idx = reflect_index(n, T)
        clean[b], noisy[b], mask[b, n:] = clean[b, idx], noisy[b, idx], False
    return clean, noisy, mask


def val_sequences(motions: dict[str, np.ndarray], profile: dict, seed: int = 1234,
                  chunk: int = 300, short: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed (clean, noisy) (n, J, 3) validation sequences: each held-out motion cut into `chunk`-frame
    pieces, one random camera and one noise draw each (no speed change or mirroring).

    short=True cuts pieces of 8-90 frames instead (drawn from their own seeded generator), the lengths of
    the detected runs in real short clips, where segment ends and reflect padding weigh most."""
    from .noise import sample_noise

    rng = np.random.default_rng(seed)
    cuts = np.random.default_rng(seed + 1)
    out = []
    for key in sorted(motions):
        m = motions[key]
        a = 0
        while a < len(m) - 60:
            n = int(cuts.integers(8, 91)) if short else chunk
            piece = m[a:a + n]
            a += n
            clean = data.sample_clean(rng, [piece], 1, len(piece), augment=False)
            depth = clean[:, :, list(data.HIPS), 2].mean(axis=(1, 2))
            rel, root = sample_noise(rng, (1, len(piece)), list(data.NOISE_GROUP), depth, profile)
            out.append((clean[0], (clean + rel + root[:, :, None])[0]))
    return out


def sequence_metrics(pred: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    """MPJPE (root-relative, mm), acceleration error (root-relative, mm/frame²) and root error (mm)."""
    def rel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = x[:, list(data.HIPS)].mean(axis=1)
        return x - r[:, None], r
    (p, pr), (c, cr) = rel(pred.astype(np.float64)), rel(clean.astype(np.float64))
    acc = lambda v: v[2:] - 2 * v[1:-1] + v[:-2]  # noqa: E731
    return {"mpjpe_mm": float(np.linalg.norm(p - c, axis=-1).mean() * 1000),
            "accel_mm": float(np.linalg.norm(acc(p) - acc(c), axis=-1).mean() * 1000),
            "root_mm": float(np.linalg.norm(pr - cr, axis=-1).mean() * 1000)}


def evaluate_sequences(fn, seqs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Frame-weighted mean of `sequence_metrics(fn(noisy), clean)` over the sequences."""
    rows = [(len(c), sequence_metrics(fn(n), c)) for c, n in seqs]
    total = sum(w for w, _ in rows)
    return {k: sum(w * r[k] for w, r in rows) / total for k in rows[0][1]}


def train(cfg: TrainConfig, log=print) -> tuple[SmoothNetRefiner, dict]:
    """Train and validate; returns the model (eval mode) and a record of what was done and measured."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    profile = load_profile(Path(cfg.noise_profile) if cfg.noise_profile else None)
    if cfg.white_noise:
        profile.pop("fast_lag1_autocorr", None)
    split = data.load_split()
    train_m = list(split["train"].values())
    val = val_sequences(split["val"], profile)
    val_short = val_sequences(split["val"], profile, short=True)
    model = SmoothNetRefiner(cfg.window, cfg.variant, skip=cfg.skip, dropout=cfg.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps, eta_min=cfg.lr * 0.02)
    t0, running = time.time(), []
    for step in range(1, cfg.steps + 1):
        model.train()
        b = data.make_batch(rng, train_m, cfg.batch, cfg.window, profile)
        if cfg.short_frac > 0:
            clean, noisy, mask = pad_short(rng, b.clean, b.noisy, cfg.short_frac)
            loss = loss_fn(model, torch.from_numpy(noisy), torch.from_numpy(clean), torch.from_numpy(mask))
        else:
            loss = loss_fn(model, torch.from_numpy(b.noisy), torch.from_numpy(b.clean))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append(float(loss.detach()))
        if step % 250 == 0 or step == cfg.steps:
            log(f"step {step}/{cfg.steps} loss {np.mean(running):.5f} ({time.time() - t0:.0f} s)")
            running = []
    model.eval()
    raw = evaluate_sequences(lambda x: x, val)
    refined = evaluate_sequences(lambda x: refine_track(model, x, data.HIPS), val)
    raw_short = evaluate_sequences(lambda x: x, val_short)
    refined_short = evaluate_sequences(lambda x: refine_track(model, x, data.HIPS), val_short)
    record = {"config": vars(cfg), "train_motions": sorted(split["train"]), "val_motions": sorted(split["val"]),
              "excluded_motions": sorted(data.excluded_motions()), "train_frames": int(sum(map(len, train_m))),
              "val_sequences": len(val), "val_raw": raw, "val_smoothnet": refined,
              "val_short_sequences": len(val_short), "val_short_raw": raw_short, "val_short_smoothnet": refined_short,
              "seconds": round(time.time() - t0, 1), "torch": torch.__version__}
    log(f"validation raw {raw}\nvalidation smoothnet-T{cfg.window} {refined}\n"
        f"short validation raw {raw_short}\nshort validation smoothnet-T{cfg.window} {refined_short}")
    return model, record


def save_weights(model: SmoothNetRefiner, path: Path) -> Path:
    """float16 state dict: half the size, and the rounding (1e-3 relative) is far below the noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
    return path
