"""Benchmark: the camera-rotation tracker's accuracy and cost per frame (`posebake.camera_motion`), for
issue #21's CPU bar (the tracker was 2-5 ms of a frame's 13-30, bench/results/estimate.md).

Truth: the committed ground-truth clips' camera rotations (cam_R, world -> camera; the rotation taking frame
t's rays into frame 0's axes is cam_R[0] cam_R[t]^T) with their true focal; the person's box from the
projected joints, masked as the pipeline masks it. Two of the clips pan or track (jump_close_pan,
forward_jumps_tracking; the tracking camera also moves, which the rotation model leaves out), the others
are static (any rotation is drift). Beside them the lab's tripod view (cam01, static: drift only), with
the person's box from a quick estimate. Each setting: mean and worst angle error over frames (degrees), and
ms per frame of `update` (frames already decoded; best of 2 passes). Every row fits rotations with the
vectorised RANSAC scoring of 2026-12-02 (5x faster than the (H,N,3) residuals before, same inliers). Writes bench/results/camera_motion.md.
Run: `.venv/bin/python bench/camera_motion.py`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header, write_table  # noqa: E402

import posebake.camera_motion as CM  # noqa: E402
from posebake.decode import VideoDecoder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "bench" / "groundtruth" / "clips"
#: settings compared: module constants of posebake.camera_motion overridden for a pass
SETTINGS: dict[str, dict[str, object]] = {
    "LK window 21, re-detect below 150 corners (before 2026-12-02)": {"LK_WINDOW": 21, "REDETECT_SHARE": 1e9},
    "LK window 15, re-detect below 150 corners": {"REDETECT_SHARE": 1e9},
    "LK window 15, re-detect below 37.5 % of the last detection": {"REDETECT_SHARE": 0.375, "REDETECT_BELOW": 1e9},
    "LK window 15, re-detect below 150 or 75 % (shipped)": {},
    "shipped, 2 levels": {"LK_LEVELS": 2},
    "shipped, 300 corners": {"MAX_CORNERS": 300},
    "shipped, 250 corners": {"MAX_CORNERS": 250},
    "shipped, RANSAC 32": {"RANSAC_ITERATIONS": 32},
    "shipped, work width 480": {"WORK_WIDTH": 480},
}


def frames_of(path: Path) -> np.ndarray:
    return np.concatenate([b.copy() for _, b in VideoDecoder(path).batches(16)])


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1) / 2, -1.0, 1.0))))


def run(frames: np.ndarray, K: np.ndarray, boxes: list[np.ndarray], overrides: dict[str, object]) -> tuple[list, float]:
    saved = {k: getattr(CM, k) for k in overrides}
    try:
        for k, v in overrides.items():
            setattr(CM, k, v)
        best = np.inf
        for _ in range(2):
            tracker = CM.CameraRotationTracker(K, frames.shape[2], frames.shape[1])
            t = time.perf_counter()
            for f, b in zip(frames, boxes):
                tracker.update(f, [b])
            best = min(best, (time.perf_counter() - t) / len(frames) * 1000)
        return tracker.rotations, best
    finally:
        for k, v in saved.items():
            setattr(CM, k, v)


def clip_cases() -> list[tuple[str, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray | None]]:
    """(name, frames, K, person boxes, true rotations or None for a tripod shot)."""
    cases = []
    for gt_path in sorted(CLIPS.glob("*_gt.npz")):
        name = gt_path.name[: -len("_gt.npz")]
        with np.load(gt_path) as d:
            K, R, cam = d["K"], d["cam_R"], d["joints_cam"]
        px = cam @ K.T
        px = px[..., :2] / px[..., 2:3]
        boxes = [np.r_[p.min(0), p.max(0)] for p in px]
        cases.append((name, frames_of(CLIPS / f"{name}.mp4"), K, boxes, R[0] @ np.swapaxes(R, 1, 2)))
    lab = REPO.parent / "shared" / "data" / "videos" / "pose2sim_single_person_4cams" / "cam01.mp4"
    if lab.is_file():
        frames = frames_of(lab)[:120]
        from multiview_root import read_qualisys

        K = {c.name: c.K for c in read_qualisys(lab.parent / "Calib.qca.txt")}["cam01"]
        # the subject stays within this box for the first 120 frames (read off frames 0, 60 and 119)
        cases.append(("lab cam01 (tripod)", frames, K, [np.array([300.0, 450.0, 900.0, 1750.0])] * len(frames), None))
    return cases


def main() -> None:
    cases = clip_cases()
    lines = ["# Camera rotation from background flow: accuracy and cost\n",
             machine_header("cpu"),
             "Error: angle between the tracked rotation (frame t's rays into frame 0's axes) and the truth, "
             "degrees, mean / worst over frames; for the tripod view the truth is no rotation. ms/f: "
             "`CameraRotationTracker.update` per frame, frames decoded beforehand, best of 2 passes.\n",
             "| setting | " + " | ".join(c[0] for c in cases) + " | ms/f (mean over clips) |",
             "|---|" + "---:|" * (len(cases) + 1)]
    for label, overrides in SETTINGS.items():
        cells, costs = [], []
        for name, frames, K, boxes, truth in cases:
            rots, ms = run(frames, K, boxes, overrides)
            ref = truth if truth is not None else [np.eye(3)] * len(rots)
            err = [angle_deg(a, b) for a, b in zip(rots, ref)]
            cells.append(f"{np.mean(err):.2f} / {np.max(err):.2f}")
            costs.append(ms)
            print(label, name, cells[-1], f"{ms:.2f} ms/f", flush=True)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {np.mean(costs):.2f} |")
    write_table(REPO / "bench" / "results" / "camera_motion.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
