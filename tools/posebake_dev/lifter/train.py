"""Train the DSTformer lifter on synthetic BlazePose-like 2D from the CMU motion capture (data.py).

Loss as in MotionBERT: mean per-joint position error plus a weighted error of the joints' velocities
(frame differences), which keeps the output's motion as smooth as the truth's. AdamW with a cosine decay;
validation on whole held-out CMU trials (mocap/splits.py) with fixed random cameras and noise, so two runs
with one seed give the same numbers.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import data
from ..mocap.splits import split as trial_split
from .profile import load_profile
from posebake.lifting.model import DSTformer, LifterConfig
from posebake_core.atomic import atomic_path

#: Velocity term weight: MotionBERT's 3D fine-tuning setting (lambda_3d_velocity = 20 in its configs).
VELOCITY_WEIGHT = 20.0


@dataclass
class TrainConfig:
    window: int = 27
    dim: int = 48
    depth: int = 2
    heads: int = 4
    steps: int = 3000
    batch: int = 32
    lr: float = 1e-3
    seed: int = 0
    threads: int = 1
    visibility: bool = True  # False: the visibility channel is zeroed (ablation)
    minutes: float | None = None  # stop after this much training time (the schedule assumes `steps`)
    profile: str | None = None


def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    pos = torch.linalg.norm(pred - target, dim=-1).mean()
    vel = torch.linalg.norm(torch.diff(pred, dim=1) - torch.diff(target, dim=1), dim=-1).mean()
    return pos + VELOCITY_WEIGHT * vel


def val_batches(motions: dict[str, np.ndarray], window: int, profile: dict, n: int = 96,
                seed: int = 1234) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    ms = list(motions.values())
    return [data.make_batch(rng, ms, 16, window, profile, augment=False) for _ in range(n // 16)]


@torch.no_grad()
def validate(model: DSTformer, batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    model.eval()
    err, acc = [], []
    for inp, tgt in batches:
        p = model(torch.from_numpy(inp)).numpy()
        p -= p[:, :, :1]
        err.append(np.linalg.norm(p - tgt, axis=-1).mean())
        acc.append(np.linalg.norm(np.diff(p, 2, axis=1) - np.diff(tgt, 2, axis=1), axis=-1).mean())
    model.train()
    return {"mpjpe_mm": float(np.mean(err) * 1000), "accel_mm": float(np.mean(acc) * 1000)}


def train(cfg: TrainConfig, log=print) -> tuple[DSTformer, dict]:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    profile = load_profile(Path(cfg.profile) if cfg.profile else None)
    split = data.load_split()
    train_m = list(split["train"].values())
    val = val_batches(split["val"], cfg.window, profile)
    mcfg = LifterConfig(window=cfg.window, dim=cfg.dim, depth=cfg.depth, heads=cfg.heads,
                        joints_in=len(profile["inputs"]), visibility=cfg.visibility)
    model = DSTformer(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    warm = max(1, min(200, cfg.steps // 10))  # linear warm-up, then cosine decay to zero
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / warm) * 0.5 * (
        1 + np.cos(np.pi * min(1.0, k / cfg.steps))))
    t0, history, step = time.time(), [], 0
    for step in range(1, cfg.steps + 1):
        inp, tgt = data.make_batch(rng, train_m, cfg.batch, cfg.window, profile)
        pred = model(torch.from_numpy(inp))
        pred = pred - pred[:, :, :1]  # pelvis-relative, like the target
        loss = loss_fn(pred, torch.from_numpy(tgt))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        over = cfg.minutes is not None and time.time() - t0 > 60 * cfg.minutes
        if step % 250 == 0 or step == cfg.steps or over:
            v = validate(model, val)
            history.append({"step": step, "seconds": round(time.time() - t0), "loss": round(loss.item(), 4), **v})
            log(f"step {step}/{cfg.steps}  loss {loss.item():.4f}  val MPJPE {v['mpjpe_mm']:.1f} mm  "
                f"accel {v['accel_mm']:.2f} mm/f²  ({time.time() - t0:.0f} s)")
        if over:
            break
    record = {"config": asdict(cfg), "model": mcfg.to_dict(), "steps_done": step, "history": history,
              "seconds": round(time.time() - t0), "split": {k: sorted(v) for k, v in split.items()},
              "excluded_motions": trial_split()["excluded"],
              "train_frames": int(sum(map(len, train_m)))}
    return model, record


def save_weights(model: DSTformer, path: Path) -> Path:
    """float16 state dict plus the model config (a few MB), written atomically."""
    state = {k: v.half() for k, v in model.state_dict().items()}
    with atomic_path(Path(path)) as tmp:
        torch.save({"config": model.cfg.to_dict(), "state": state}, tmp)
    return Path(path)
