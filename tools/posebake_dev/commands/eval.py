"""`posebake eval MOTION.npz GT.npz`: accuracy of a Motion against a rendered ground-truth clip."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

LABELS = {
    "detection_rate": ("detection rate", "{:.1%}"),
    "mpjpe_mm": ("MPJPE (root-relative)", "{:.1f} mm"),
    "pa_mpjpe_mm": ("PA-MPJPE", "{:.1f} mm"),
    "root_error_mm": ("root position error", "{:.0f} mm"),
    "root_error_pct": ("root error / camera distance", "{:.1f} %"),
    "accel_error_mm": ("acceleration error", "{:.1f} mm/frame²"),
    "bone_cv": ("bone-length CV", "{:.3f}"),
    "foot_skate_cm": ("foot skate in contact", "{:.2f} cm/frame"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score a Motion file against a ground-truth clip (_gt.npz)")
    p.add_argument("motion", type=Path)
    p.add_argument("groundtruth", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebake_core.motion import Motion

    from ..eval.report import evaluate, load_groundtruth

    result = evaluate(Motion.load(args.motion), load_groundtruth(args.groundtruth))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.motion.name} vs {args.groundtruth.name}: {int(result['frames'])} frames, track {int(result['track'])}, "
          f"subject at {result['gt_camera_distance_m']:.1f} m")
    for key, (label, fmt) in LABELS.items():
        print(f"  {label:30s} {fmt.format(result[key])}")
    return 0
