"""Benchmark: accuracy of `posebake estimate` on the rendered ground-truth clips, beside MediaPipe.

    python bench/accuracy.py [--clips bench/groundtruth/clips] [--no-mediapipe] [--focal gt|default]

For every `NAME.mp4` + `NAME_gt.npz` pair: PoseBake raw (`smoothing none`) scored with `posebake_dev.eval`, and
MediaPipe's own CPU Pose world landmarks on the same clip (its venv, bench/mediapipe_env.sh) scored on the
metrics that apply to a root-relative output (MediaPipe gives no absolute position, so root error and foot
skate are "–"). `--focal gt` (default) gives PoseBake the true focal length, as a user with a known camera
would; `--focal default` uses the 55° default. Also reports the mean landmark-vs-joint-centre offsets.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_all import WORK, run_clip  # noqa: E402
from benchutil import machine_header, mediapipe_python, write_table  # noqa: E402

from posebake.estimate import EstimateOptions, Estimator  # noqa: E402
from posebake.models.runtime import engines  # noqa: E402
from posebake_dev.eval import metrics  # noqa: E402
from posebake_dev.eval.joints import EVAL_BONES, EVAL_JOINTS, gt_joints, mid_hip, pred_joints  # noqa: E402
from posebake_dev.eval.report import evaluate, joint_offsets, load_groundtruth  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COLS = ("detection_rate", "mpjpe_mm", "pa_mpjpe_mm", "root_error_mm", "root_error_pct", "accel_error_mm",
        "bone_cv", "foot_skate_cm")


def fmt(v: float | None, spec: str) -> str:
    return "–" if v is None or not np.isfinite(v) else format(v, spec)


def row(name: str, method: str, r: dict[str, float | None]) -> str:
    specs = (".0%", ".1f", ".1f", ".0f", ".1f", ".1f", ".3f", ".2f")
    return f"| {name} | {method} | " + " | ".join(fmt(r.get(c), s) for c, s in zip(COLS, specs)) + " |"


def mediapipe_scores(npz: Path, gt: dict[str, np.ndarray]) -> dict[str, float | None]:
    with np.load(npz) as z:
        world = z["world"].astype(np.float64)
    n = min(len(world), len(gt["joints_cam"]))
    p, g = pred_joints(world[:n]), gt_joints(gt)[:n]
    pr, gr = mid_hip(p), mid_hip(g)
    return {"detection_rate": metrics.detection_rate(p), "mpjpe_mm": metrics.mpjpe(p, g, pr, gr),
            "pa_mpjpe_mm": metrics.pa_mpjpe(p, g), "accel_error_mm": metrics.accel_error(p, g, pr, gr),
            "bone_cv": metrics.bone_length_cv(p, EVAL_BONES)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=Path, default=REPO / "bench" / "groundtruth" / "clips")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--runtime", default="auto", choices=("auto", "torch", "onnx"), help="the models' engine")
    ap.add_argument("--focal", choices=("gt", "default"), default="gt")
    ap.add_argument("--no-mediapipe", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "accuracy.md")
    args = ap.parse_args()
    est = Estimator(args.device, args.runtime)
    mp_python = mediapipe_python(not args.no_mediapipe)
    header = machine_header(str(est.device))
    rows, ours_all, mp_all, offsets = [], [], [], []
    for gt_path in sorted(args.clips.glob("*_gt.npz")):
        name = gt_path.name[: -len("_gt.npz")]
        video = gt_path.with_name(f"{name}.mp4")
        gt = load_groundtruth(gt_path)
        focal = float(gt["K"][0, 0]) if args.focal == "gt" else None
        motion = est.run(video, EstimateOptions(focal=focal, max_people=1, smooth="none"))
        ours = evaluate(motion, gt)
        ours_all.append(ours)
        offsets.append(joint_offsets(motion, gt))
        rows.append(row(name, "PoseBake raw", ours))
        print(rows[-1], flush=True)
        if mp_python:
            summary = run_clip(mp_python, video, WORK / f"gt_{name}.npz")
            if "error" not in summary:
                mp = mediapipe_scores(WORK / f"gt_{name}.npz", gt)
                mp_all.append(mp)
                rows.append(row(name, "MediaPipe 0.10.14 (world landmarks)", mp))
                print(rows[-1], flush=True)
    mean = lambda rs, c: float(np.nanmean([r[c] for r in rs if r.get(c) is not None]))  # noqa: E731
    rows.append(row("**all clips (mean)**", "PoseBake raw", {c: mean(ours_all, c) for c in COLS}))
    if mp_all:
        rows.append(row("**all clips (mean)**", "MediaPipe 0.10.14 (world landmarks)",
                        {c: mean(mp_all, c) if c in mp_all[0] else None for c in COLS}))
    off = {j: np.nanmean([o[j] for o in offsets], axis=0) * 1000 for j in EVAL_JOINTS}
    off_rows = "\n".join(f"| {j} | {v[0]:+.0f} | {v[1]:+.0f} | {v[2]:+.0f} | {np.linalg.norm(v):.0f} |"
                         for j, v in off.items())
    text = ("# Accuracy on the rendered ground-truth clips\n\n" + header +
            f"\n- Clips: {args.clips.relative_to(REPO) if args.clips.is_relative_to(REPO) else args.clips} "
            f"(CMU mocap on the CMU-skeleton character, Cycles); PoseBake focal: {args.focal}; `--smooth none`; "
            f"models on {engines([est.detector.model, est.landmarker.model])}\n\n"
            "| clip | method | detected | MPJPE mm | PA-MPJPE mm | root err mm | root err % dist | accel err mm/f² | "
            "bone CV | foot skate cm/f |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) +
            "\n\n## Systematic landmark vs joint-centre offset (PoseBake, mean over clips, mm, camera axes)\n\n"
            "| joint | x (right) | y (down) | z (forward) | norm |\n|---|---:|---:|---:|---:|\n" + off_rows + "\n")
    write_table(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
