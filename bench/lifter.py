"""Benchmark: the 2D->3D lifter's joint centres on the rendered ground-truth clips (issue #18).

    python bench/lifter.py [--weights backend/posebake/data/lifter_T27.pt] [--no-flip] [--label NAME]
                           [--out bench/results/lifter.md] [--speed]

For every GT clip the raw estimator's output (rawcache.py: `--smooth none`, GT focal) is scored three ways
against the CMU bone heads: BlazePose's world landmarks (the raw Motion's root-relative joints), the lifter
alone on the same 2D landmarks, and the lifter followed by the shipped SmoothNet. None of the clips' motions
was trained on (mocap/splits.py). Two joint sets:

* limbs: the 12 shoulder/elbow/wrist/hip/knee/ankle points BlazePose has, root = mid-hip: all three compared;
* centres: the lifter's 19 joint centres, root = pelvis (the issue's bar: MPJPE <= 75 mm, PA-MPJPE <= 55 mm,
  accel <= 5 mm/f², bone-length CV <= 1 %).

`--speed` also times the lifter on the CPU (ms per frame per person, 1 and all torch threads).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header, write_table  # noqa: E402

from posebake.lifting.lift import WEIGHTS, lift_track  # noqa: E402
from posebake.smoothing import load_refiner  # noqa: E402
from posebake.smoothing.windows import refine_track  # noqa: E402
from posebake_core.skeleton import CENTRE_JOINTS, CENTRE_PARENTS  # noqa: E402
from posebake_dev.eval import metrics  # noqa: E402
from posebake_dev.eval.joints import EVAL_BONES, EVAL_JOINTS, gt_joints, mid_hip, pred_joints  # noqa: E402
from posebake_dev.lifter.profile import gt_centres  # noqa: E402
from posebake_dev.smoothnet.rawcache import raw_for_gt_clips  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LIMBS = [CENTRE_JOINTS.index(j) for j in EVAL_JOINTS]  # the 12 limb joints inside the lifter's output
CENTRE_BONES = tuple((p, j) for j, p in enumerate(CENTRE_PARENTS) if p >= 0)
HIPS = (CENTRE_JOINTS.index("left_hip"), CENTRE_JOINTS.index("right_hip"))


def scores(p: np.ndarray, g: np.ndarray, pr: np.ndarray, gr: np.ndarray, bones) -> dict[str, float]:
    return {"mpjpe": metrics.mpjpe(p, g, pr, gr), "pa": metrics.pa_mpjpe(p, g),
            "accel": metrics.accel_error(p, g, pr, gr), "cv": 100 * metrics.bone_length_cv(p, bones)}


def smoothnet(centres: np.ndarray, root: np.ndarray) -> np.ndarray:
    """The shipped SmoothNet over the lifted joints placed at the raw root (it refines absolute tracks)."""
    out = refine_track(load_refiner(), (centres + root[:, None]).astype(np.float32), HIPS)
    return out - out[:, :1]


def lifted(motion, K: np.ndarray, weights: Path, flip: bool) -> np.ndarray:
    """(T, 19, 3) lifted centres over the whole clip (NaN outside the track's first..last frame)."""
    present = np.isfinite(motion.joints_2d[0]).all(axis=(1, 2))
    first, last = np.flatnonzero(present)[[0, -1]]
    out = np.full((motion.num_frames, len(CENTRE_JOINTS), 3), np.nan, np.float32)
    out[first:last + 1] = lift_track(motion.joints_2d[0, first:last + 1], motion.visibility[0, first:last + 1],
                                     K, flip=flip, weights=weights)
    return out


def speed(weights: Path, frames: int = 810) -> dict[int, float]:
    """ms per frame per person of `lift_track` (flip on) on a synthetic track, per torch thread count."""
    rng = np.random.default_rng(0)
    uv = 320 + 40 * rng.standard_normal((frames, 33, 2))
    vis = np.ones((frames, 33))
    K = np.array([[600.0, 0, 320], [0, 600, 240], [0, 0, 1]])
    out = {}
    for threads in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(threads)
        lift_track(uv[:100], vis[:100], K, weights=weights)
        t0 = time.perf_counter()
        lift_track(uv, vis, K, weights=weights)
        out[threads] = (time.perf_counter() - t0) * 1000 / frames
    return out


def fmt_row(clip: str, method: str, joints: str, s: dict[str, float]) -> str:
    return (f"| {clip} | {method} | {joints} | {s['mpjpe']:.1f} | {s['pa']:.1f} | {s['accel']:.2f} | "
            f"{s['cv']:.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", type=Path, default=WEIGHTS)
    ap.add_argument("--no-flip", action="store_true")
    ap.add_argument("--label", default="lifter")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "lifter.md")
    args = ap.parse_args()
    header = machine_header("cpu")
    rows, means = [], {}
    for name, motion, gt in raw_for_gt_clips():
        K = np.asarray(gt["K"], np.float64)
        n = min(motion.num_frames, len(gt["joints_cam"]))
        bp = pred_joints(motion.joints_cam[0, :n].astype(np.float64))
        gl, gc = gt_joints(gt)[:n], gt_centres(gt)[:n]
        lift = lifted(motion, K, args.weights, not args.no_flip)[:n].astype(np.float64)
        raw_root = mid_hip(bp)
        ok = np.isfinite(lift).all(axis=(1, 2))
        lift_s = lift.copy()
        lift_s[ok] = smoothnet(lift[ok], np.nan_to_num(raw_root[ok]))
        runs = {
            ("BlazePose world landmarks", "limbs"): scores(bp, gl, mid_hip(bp), mid_hip(gl), EVAL_BONES),
            (args.label, "limbs"): scores(lift[:, LIMBS], gl, mid_hip(lift[:, LIMBS]), mid_hip(gl), EVAL_BONES),
            (f"{args.label} + SmoothNet", "limbs"): scores(lift_s[:, LIMBS], gl, mid_hip(lift_s[:, LIMBS]),
                                                           mid_hip(gl), EVAL_BONES),
            (args.label, "centres"): scores(lift, gc, lift[:, 0], gc[:, 0], CENTRE_BONES),
            (f"{args.label} + SmoothNet", "centres"): scores(lift_s, gc, lift_s[:, 0], gc[:, 0], CENTRE_BONES),
        }
        for (method, joints), s in runs.items():
            rows.append(fmt_row(name, method, joints, s))
            means.setdefault((method, joints), []).append(s)
            print(rows[-1], flush=True)
    for (method, joints), ss in means.items():
        rows.append(fmt_row("**mean of clips**", method, joints,
                            {k: float(np.mean([s[k] for s in ss])) for k in ss[0]}))
    text = ("# The 2D→3D lifter on the rendered ground-truth clips\n\n" + header +
            f"\n- Weights: {args.weights.name}; flip at test time: {not args.no_flip}; input: the raw estimator's "
            "2D landmarks (GT focal); reference: the CMU bone heads\n\n"
            "| clip | method | joints | MPJPE mm | PA-MPJPE mm | accel err mm/f² | bone CV % |\n"
            "|---|---|---|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")
    if args.speed:
        sp = speed(args.weights)
        text += "\n## Lifter speed on the CPU (flip on, 810-frame track)\n\n| torch threads | ms / frame / person |\n" \
                "|---:|---:|\n" + "\n".join(f"| {k} | {v:.2f} |" for k, v in sp.items()) + "\n"
    write_table(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
