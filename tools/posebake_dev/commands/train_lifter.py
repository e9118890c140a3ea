"""`posebake train-lifter`: train the 2D->3D lifter (DSTformer) that `--lifter motionbert` ships."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-lifter", help="train the 2D->3D motion lifter on the CMU mocap in ../shared/data")
    p.add_argument("--window", type=int, default=27, help="window length T in frames (default 27)")
    p.add_argument("--dim", type=int, default=48, help="feature width C (default 48)")
    p.add_argument("--depth", type=int, default=2, help="dual-stream blocks (default 2)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32, help="windows per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--minutes", type=float, help="stop after this many minutes of training")
    p.add_argument("--no-visibility", action="store_true", help="zero the visibility input (ablation)")
    p.add_argument("--profile", type=Path, help="2D error profile JSON (default: the shipped lifter_profile.json)")
    p.add_argument("-o", "--output", type=Path, required=True, help="weights file (.pt: float16 state + config)")
    p.add_argument("--record", type=Path, help="also write the training record (config, split, validation) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebake_core.errors import PoseBakeError
    from ..lifter.train import TrainConfig, save_weights, train

    if not 27 <= args.window <= 243:
        raise PoseBakeError(f"--window must be 27-243 frames, got {args.window}")
    if args.profile and not args.profile.is_file():
        raise PoseBakeError(f"--profile {args.profile}: no such file "
                            "(make one with `python -m posebake_dev.lifter.profile OUT.json`)")
    cfg = TrainConfig(window=args.window, dim=args.dim, depth=args.depth, steps=args.steps, batch=args.batch,
                      lr=args.lr, seed=args.seed, threads=args.threads, visibility=not args.no_visibility,
                      minutes=args.minutes, profile=str(args.profile) if args.profile else None)
    model, record = train(cfg, log=lambda s: print(s, flush=True))
    save_weights(model, args.output)
    record["output"] = str(args.output)
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0
