"""Benchmark: end-to-end `posebake estimate` speed on every shared clip, stage by stage, beside MediaPipe.

    python bench/estimate.py [--device cpu|cuda] [--max-people N] [--no-mediapipe]

For each clip, in the same run: PoseBake (models already loaded, as in the service) with the stage timings
the pipeline records (decode, detect, landmarks incl. cropping and tracking, solve), then MediaPipe's own
CPU Pose solution on the same clip in its separate venv (bench/mediapipe_env.sh), decode excluded for both;
`--repeats` runs of each in turns (default 3), each pipeline's median run in the table (single runs moved by
10-20 % on the shared 2-core machine: MediaPipe gave 43-47 fps on one clip over six runs).
Jitter is the mean norm of the second difference of root-relative joints (mm/frame²): PoseBake's default
output (SmoothNet refinement), MediaPipe with its built-in landmark smoothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_all import WORK, run_clip, shared_clips  # noqa: E402
from benchutil import machine_header, mediapipe_python, write_table  # noqa: E402

from posebake.estimate import EstimateOptions, Estimator  # noqa: E402
from posebake.models.runtime import engines  # noqa: E402
from posebake.paths import shared_data  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def jitter_mm(joints: np.ndarray) -> float:
    """Mean |second difference| of root-relative joints (T,J,3) over consecutive present frames, in mm."""
    root = 0.5 * (joints[:, 23:24] + joints[:, 24:25])
    rel = joints - root
    acc = rel[2:] - 2 * rel[1:-1] + rel[:-2]
    norms = np.linalg.norm(acc, axis=-1)
    return float(np.nanmean(norms) * 1000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--max-people", type=int, default=1, help="1 compares like for like with MediaPipe")
    ap.add_argument("--no-mediapipe", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "estimate.md")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of each pipeline per clip, taken in turns; the table shows each one's median run")
    args = ap.parse_args()
    est = Estimator(args.device)
    mp_python = mediapipe_python(not args.no_mediapipe)
    header = machine_header(str(est.device))
    rows = []
    for clip in shared_clips(shared_data()):
        est.run(clip, EstimateOptions(max_people=args.max_people, end=16))  # warm-up (allocator, caches)
        ours, theirs = [], []
        for _ in range(args.repeats):  # in turns, so a slow spell of the shared machine hits both
            t0 = time.perf_counter()
            motion = est.run(clip, EstimateOptions(max_people=args.max_people))
            wall = time.perf_counter() - t0
            ours.append((int(est.timings["frames"]) / (wall - est.timings["decode"]), wall, dict(est.timings), motion))
            if mp_python:
                theirs.append(run_clip(mp_python, clip, WORK / f"{clip.stem}.npz"))
        fps, wall, t, motion = sorted(ours, key=lambda r: r[0])[len(ours) // 2]
        n = int(t["frames"])
        other = wall - sum(t.get(k, 0.0) for k in ("decode", "focal", "detect", "landmarks", "camera", "solve", "smooth"))
        redo = t.get("redo_fraction_num", 0) / max(t.get("redo_fraction_den", 1), 1)
        ms = {k: t.get(k, 0.0) / n * 1000 for k in ("decode", "focal", "detect", "landmarks", "camera", "solve", "smooth")}
        good = sorted((r for r in theirs if "process_fps" in r), key=lambda r: r["process_fps"])
        mp = good[len(good) // 2] if good else (theirs[-1] if theirs else {"error": "skipped"})
        mp_fps = f"{mp['process_fps']:.1f}" if "process_fps" in mp else mp.get("error", "-")
        mp_jit = f"{mp['jitter_mm_per_frame2']:.1f}" if "jitter_mm_per_frame2" in mp else "-"
        row = (f"| {clip.name} | {n} | {ms['decode']:.1f} | {ms['focal']:.1f} | {ms['detect']:.1f} | {ms['landmarks']:.1f} | "
               f"{ms['camera']:.1f} | {ms['solve']:.2f} | {ms['smooth']:.2f} | {other / n * 1000:.1f} | {redo * 100:.0f}% | **{fps:.1f}** | {mp_fps} | "
               f"{motion.present()[0].mean() * 100:.0f}% | {jitter_mm(motion.joints_cam[0]):.1f} | {mp_jit} |")
        rows.append(row)
        print(row, flush=True)
    text = ("# End-to-end estimate speed: PoseBake vs MediaPipe CPU Pose\n\n" + header +
            f"\n- PoseBake: `--max-people {args.max_people}`, batch {8 if est.device.type == 'cpu' else 32}, "
            f"models on {engines([est.detector.model, est.landmarker.model])} (posebake.models.runtime), "
            "models warm; MediaPipe 0.10.14 full model in its own venv, same clip, same run; "
            f"{args.repeats} runs of each per clip, in turns, each pipeline's median run shown\n\n"
            "| clip | frames | decode ms/f | focal ms/f | detect ms/f | landmarks ms/f | camera ms/f | solve ms/f | smooth ms/f | "
            "other ms/f | ROI re-run | "
            "PoseBake fps (decode excl.) | MediaPipe fps (decode excl.) | tracked | PoseBake jitter mm/f² (SmoothNet) | "
            "MediaPipe jitter mm/f² (its smoothing) |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")
    write_table(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
