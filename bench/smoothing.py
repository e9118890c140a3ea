"""Benchmark: temporal smoothing (SmoothNet vs tuned classical filters) on PoseBake's raw output.

    python bench/smoothing.py [--out bench/results/smoothing.md] [--notes NOTES.md] [--extra LABEL=WEIGHTS ...]

1. Rendered ground-truth clips (whose CMU motions were never trained on): raw, each tuned filter and each
   trained SmoothNet window, scored with `posebake_dev.eval.report.evaluate` (MPJPE, PA-MPJPE, acceleration
   error, root error, bone CV).
2. phalp_running_woman.mp4 (real footage, no GT): joint acceleration (mean |second difference|) and
   bone-length CV vs raw, and lag: the lag of the peak of the cross-correlation between the smoothed and
   raw root trajectories (linearly detrended, so a runner's steady travel across the frame does not
   flatten the peak), which must be 0 frames.
3. CPU speed of the smoothers; the SmoothNet training record and the filter tuning.
Raw estimates come from the cache under bench/.work/smoothing (posebake_dev.smoothnet.rawcache).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header  # noqa: E402

from posebake_dev.eval import metrics  # noqa: E402
from posebake_dev.eval.joints import EVAL_BONES, mid_hip, pred_joints  # noqa: E402
from posebake_dev.eval.report import evaluate  # noqa: E402
from posebake.paths import shared_data  # noqa: E402
from posebake.smoothing import smooth_motion, weights_path  # noqa: E402
from posebake_dev.smoothnet.rawcache import cache_dir, raw_for_gt_clips, raw_motion  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COLS = (("mpjpe_mm", ".1f"), ("pa_mpjpe_mm", ".1f"), ("accel_error_mm", ".2f"), ("root_error_mm", ".0f"),
        ("bone_cv", ".3f"))


EXTRA: list[tuple[str, Path]] = []  # (label, weights) from --extra: ablations that are not shipped


def methods() -> list[tuple[str, str, int]]:
    """(label, method, window) for raw, the filters and every SmoothNet window with shipped weights."""
    out = [("raw", "none", 32), ("one-euro", "oneeuro", 32), ("Savitzky-Golay", "savgol", 32),
           ("Gaussian", "gaussian", 32)]
    out += [(f"SmoothNet T={w}", "smoothnet", w) for w in (16, 32, 64) if weights_path(w).is_file()]
    out += [(label, f"weights:{path}", 0) for label, path in EXTRA]
    return out


def smoothed(motion, method: str, window: int):
    """`smooth_motion`, or for an --extra row the refiner in that weights file, over every track."""
    if not method.startswith("weights:"):
        return smooth_motion(motion, method, window=window)
    import torch
    from dataclasses import replace

    from posebake.smoothing import HIPS
    from posebake.smoothing.smoothnet import SmoothNetRefiner
    from posebake.smoothing.windows import refine_track

    model = SmoothNetRefiner.from_state_dict(torch.load(method[len("weights:"):], weights_only=True))
    j = np.stack([refine_track(model, motion.joints_cam[p], HIPS) for p in range(motion.num_tracks)])
    return replace(motion, joints_cam=j)


def fmt(v: float, spec: str) -> str:
    return "–" if v is None or not np.isfinite(v) else format(v, spec)


def gt_section(clips) -> tuple[str, dict[str, dict[str, float]]]:
    rows, means = [], {}
    for label, method, w in methods():
        per = [evaluate(smoothed(m, method, w), gt) for _, m, gt in clips]
        for (name, _, _), r in zip(clips, per):
            rows.append(f"| {name} | {label} | " + " | ".join(fmt(r[c], s) for c, s in COLS) + " |")
        means[label] = {c: float(np.mean([r[c] for r in per])) for c, _ in COLS}
    raw = means["raw"]
    summary = []
    for label, r in means.items():
        d_acc = 100 * (r["accel_error_mm"] / raw["accel_error_mm"] - 1)
        d_mp = 100 * (r["mpjpe_mm"] / raw["mpjpe_mm"] - 1)
        summary.append(f"| {label} | " + " | ".join(fmt(r[c], s) for c, s in COLS) +
                       f" | {d_mp:+.1f} % | {d_acc:+.1f} % |")
    head = "| clip | method | MPJPE mm | PA-MPJPE mm | accel err mm/f² | root err mm | bone CV |\n" \
           "|---|---|---:|---:|---:|---:|---:|\n"
    text = ("## 1. Rendered ground-truth clips\n\nMean over the clips (each clip weighs the same):\n\n"
            "| method | MPJPE mm | PA-MPJPE mm | accel err mm/f² | root err mm | bone CV | MPJPE vs raw | "
            "accel err vs raw |\n|---|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(summary) +
            "\n\nPer clip:\n\n" + head + "\n".join(rows) + "\n")
    return text, means


def joint_accel(j: np.ndarray) -> float:
    """Mean |p[t-1] - 2p[t] + p[t+1]| over all landmarks and frames with both neighbours present, mm/f²."""
    a = j[:-2] - 2 * j[1:-1] + j[2:]
    n = np.linalg.norm(a, axis=-1)
    return float(np.nanmean(n) * 1000)


def lag_frames(smoothed: np.ndarray, raw: np.ndarray, max_lag: int = 15) -> int:
    """Lag (frames, positive = smoothed behind raw) at the peak of the cross-correlation of the smoothed
    and raw root trajectories, each linearly detrended per axis first (a runner's steady travel across the
    frame would otherwise make the correlation peak broad and meaningless)."""
    from scipy.signal import detrend

    ok = np.isfinite(mid_hip(smoothed)).all(1) & np.isfinite(mid_hip(raw)).all(1)
    a, b = detrend(mid_hip(smoothed)[ok], axis=0), detrend(mid_hip(raw)[ok], axis=0)
    n = len(a)
    score = [sum(np.dot(a[max(0, k):n + min(0, k), i], b[max(0, -k):n - max(0, k), i]) for i in range(3))
             for k in range(-max_lag, max_lag + 1)]
    return int(np.argmax(score)) - max_lag


def runner_section() -> str:
    video = shared_data() / "videos" / "phalp_running_woman.mp4"
    raw = raw_motion(video, None)
    rj = pred_joints(raw.joints_cam[0].astype(np.float64))
    acc_raw, cv_raw = joint_accel(raw.joints_cam[0].astype(np.float64)), metrics.bone_length_cv(rj, EVAL_BONES)
    rows = []
    for label, method, w in methods():
        m = smoothed(raw, method, w)
        j = m.joints_cam[0].astype(np.float64)
        acc = joint_accel(j)
        cv = metrics.bone_length_cv(pred_joints(j), EVAL_BONES)
        rows.append(f"| {label} | {acc:.1f} | {acc_raw / acc:.1f}× | {cv:.4f} | {100 * (cv / cv_raw - 1):+.1f} % | "
                    f"{lag_frames(pred_joints(j), rj)} |")
    return ("## 2. phalp_running_woman.mp4 (real footage, 180 frames, 30 fps, default focal)\n\n"
            "| method | joint accel mm/f² (33 landmarks) | lower than raw by | bone CV (12 body joints) | "
            "bone CV vs raw | lag (frames) |\n|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")


def speed_section() -> str:
    rng = np.random.default_rng(0)
    from posebake_core.skeleton import standing_pose
    T = 3000
    seq = (standing_pose()[None] + [0, 0, 5] + 0.02 * rng.standard_normal((T, 33, 3))).astype(np.float32)
    from posebake.smoothing import smooth_joints
    import torch
    rows = []
    for label, method, w, step in [("SmoothNet T=32, step 1", "smoothnet", 32, 1),
                                   ("SmoothNet T=32, step 3 (default)", "smoothnet", 32, 3),
                                   ("SmoothNet T=32, step 4", "smoothnet", 32, 4),
                                   ("SmoothNet T=32, step 8", "smoothnet", 32, 8),
                                   ("one-euro", "oneeuro", 32, 1), ("Savitzky-Golay", "savgol", 32, 1),
                                   ("Gaussian", "gaussian", 32, 1)]:
        if method == "smoothnet" and not weights_path(w).is_file():
            continue
        smooth_joints(seq[:100], method, window=w, step=step)  # warm-up (weights load)
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            smooth_joints(seq, method, window=w, step=step)
            best = min(best, time.perf_counter() - t0)
        rows.append(f"| {label} | {best / T * 1e6:.0f} µs |")
    return (f"## 3. Speed (CPU, {torch.get_num_threads()} torch thread(s), one {T}-frame track of 33 "
            "landmarks, best of 3)\n\n| smoother | time per frame |\n|---|---:|\n" + "\n".join(rows) +
            "\n\nNo GPU on this machine: the < 1e-5 s/frame GPU target was not measured. Per frame, step 1 "
            "runs one window of 102 rows through the two ~1.6 M-parameter MLPs (about 0.35 GFLOP), which on an "
            "H100-class GPU is on the order of microseconds when a whole track is batched, but that is an "
            "estimate, not a measurement.\n")


def step_section(clips) -> str:
    """SmoothNet T=32 with its windows every 1, 2, 3, 4, 8 frames: the GT clips' accuracy and the time per
    frame (one 3000-frame track, best of 3), to choose `smoothing.DEFAULT_STEP`."""
    from posebake.smoothing import DEFAULT_STEP, smooth_joints

    rng = np.random.default_rng(0)
    seq = (np.cumsum(rng.normal(0, 0.01, (3000, 33, 3)), axis=0) + [0, 0, 3]).astype(np.float32)
    rows = []
    for step in (1, 2, 3, 4, 8):
        per = [evaluate(smooth_motion(m, "smoothnet", step=step), gt) for _, m, gt in clips]
        mean = {c: float(np.mean([r[c] for r in per])) for c, _ in COLS}
        smooth_joints(seq[:200], "smoothnet", step=step)
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            smooth_joints(seq, "smoothnet", step=step)
            best = min(best, time.perf_counter() - t0)
        rows.append(f"| {step}{' (default)' if step == DEFAULT_STEP else ''} | "
                    + " | ".join(fmt(mean[c], f) for c, f in COLS) + f" | {best / len(seq) * 1e6:.0f} µs |")
    return ("## 3b. Window step (SmoothNet T=32, GT clips' mean; speed as in section 3)\n\n"
            "| step | MPJPE mm | PA-MPJPE mm | accel err mm/f² | root err mm | bone CV | time per frame |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")


def training_section() -> str:
    parts = ["## 4. Training record (`posebake train-smoothnet`)\n"]
    for w in (16, 32, 64):
        rec_path = cache_dir() / f"train_T{w}.json"
        if not rec_path.is_file():
            continue
        r = json.loads(rec_path.read_text())
        c = r["config"]
        out = ("backend/posebake/data/smoothnet_T32.pt" if w == 32 else
               f"$POSEBAKE_CACHE/smoothnet/smoothnet_T{w}.pt (not shipped)")
        parts.append(
            f"- **T={w}**: `posebake train-smoothnet --window {w} --variant {c['variant']} --steps {c['steps']} "
            f"--batch {c['batch']} --lr {c['lr']} --seed {c['seed']} --threads {c['threads']} -o "
            f"{out}` — {r['seconds']:.0f} s on the shared 2-core CPU "
            f"(torch {r['torch']}). Validation ({r['val_sequences']} held-out sequences, noise seed 1234): "
            f"raw MPJPE {r['val_raw']['mpjpe_mm']:.1f} mm / accel {r['val_raw']['accel_mm']:.1f} mm/f² / root "
            f"{r['val_raw']['root_mm']:.0f} mm → SmoothNet {r['val_smoothnet']['mpjpe_mm']:.1f} / "
            f"{r['val_smoothnet']['accel_mm']:.1f} / {r['val_smoothnet']['root_mm']:.0f}.")
        last = r
    if len(parts) > 1:
        parts.append(f"- Training motions ({last['train_frames']} frames at 30 fps): {', '.join(last['train_motions'])}. "
                     f"Validation motions (held out whole): {', '.join(last['val_motions'])}. Never used "
                     f"(the GT clips' motions, from the clip manifest): {', '.join(last['excluded_motions'])}.")
    return "\n".join(parts) + "\n"


def tuning_section() -> str:
    from posebake_dev.smoothnet import data
    from posebake_dev.smoothnet.noise import load_profile
    from posebake_dev.smoothnet.train import val_sequences

    from posebake_dev.smoothnet.tune_filters import tune

    res = tune(val_sequences(data.load_split()["val"], load_profile()))
    lines = ["## 5. Filter tuning (grid search on the SmoothNet validation sequences, lowest MPJPE wins)\n",
             "| filter | parameters | MPJPE mm | accel err mm/f² | root err mm |", "|---|---|---:|---:|---:|"]
    for name, scored in res.items():
        for i, (p, m) in enumerate(scored[:3]):
            lines.append(f"| {name}{' (chosen)' if i == 0 else ''} | {json.dumps(p)} | {m['mpjpe_mm']:.1f} | "
                         f"{m['accel_mm']:.1f} | {m['root_mm']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "smoothing.md")
    ap.add_argument("--notes", type=Path, help="markdown appended verbatim (hand-written analysis)")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=WEIGHTS",
                    help="also score this (unshipped) SmoothNet weights file, e.g. an ablation")
    args = ap.parse_args()
    for item in args.extra:
        label, _, path = item.rpartition("=")  # labels may contain "=" (T=32), paths here do not
        EXTRA.append((label, Path(path)))
    import torch
    torch.set_num_threads(1)
    header = machine_header("cpu")
    t0 = time.time()
    clips = raw_for_gt_clips()
    gt_text, _ = gt_section(clips)
    print(gt_text, flush=True)
    parts = [gt_text, runner_section(), speed_section(), step_section(clips), training_section(), tuning_section()]
    text = ("# Temporal smoothing: SmoothNet vs classical filters\n\n" + header +
            f"\n- Reproduce: `python bench/smoothing.py` ({time.time() - t0:.0f} s incl. the filter tuning)\n"
            f"- Clips: {', '.join(n for n, _, _ in clips)} (raw estimates with the GT focal, `max_people=1`)\n\n"
            + "\n".join(parts))
    if args.notes and args.notes.is_file():
        text += "\n" + args.notes.read_text()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text[len(gt_text):])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
