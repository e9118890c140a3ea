"""`posebake train-smoothnet`: train the temporal refiner that `smooth_motion(..., "smoothnet")` ships."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-smoothnet", help="train a SmoothNet refiner on the CMU mocap in ../shared/data")
    p.add_argument("--window", type=int, default=32, help="window length T in frames (default 32)")
    p.add_argument("--variant", choices=("basic", "motion"), default="basic")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=64, help="windows per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the default shares the machine)")
    p.add_argument("--global-skip", action="store_true",
                   help="add the decoder's output to the input (the first shipped recipe) instead of decoding the "
                        "whole window (the paper's form, default)")
    p.add_argument("--white-noise", action="store_true",
                   help="white fast noise instead of noise coloured like the measured errors (first recipe)")
    p.add_argument("--short-frac", type=float, default=0.0,
                   help="share of training windows cut short and reflect-padded like short tracks at inference")
    p.add_argument("--noise-profile", type=Path,
                   help="noise profile JSON from `python -m posebake_dev.smoothnet.noise OUT.json` (default: the shipped one)")
    p.add_argument("-o", "--output", type=Path, required=True, help="weights file (.pt, float16 state dict)")
    p.add_argument("--record", type=Path, help="also write the training record (config, splits, val) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebake_core.errors import PoseBakeError
    from ..smoothnet.train import TrainConfig, save_weights, train

    if not 0.0 <= args.short_frac <= 1.0:  # checked before minutes of training, not after
        raise PoseBakeError(f"--short-frac is a share of the training windows, 0-1; got {args.short_frac}")
    if args.noise_profile and not args.noise_profile.is_file():
        raise PoseBakeError(f"--noise-profile {args.noise_profile}: no such file "
                            "(make one with `python -m posebake_dev.smoothnet.noise OUT.json`)")
    cfg = TrainConfig(window=args.window, variant=args.variant, steps=args.steps, batch=args.batch, lr=args.lr,
                      seed=args.seed, threads=args.threads, skip=args.global_skip, white_noise=args.white_noise,
                      short_frac=args.short_frac,
                      noise_profile=str(args.noise_profile) if args.noise_profile else None)
    model, record = train(cfg, log=lambda s: print(s, flush=True))
    save_weights(model, args.output)
    record["output"] = str(args.output)
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0
