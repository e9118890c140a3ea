"""MediaPipe CPU Pose baseline: the reference PoseBake's benchmarks compare against.

Runs INSIDE the isolated venv made by ``bench/mediapipe_env.sh`` (never the
project venv), so this file must not import posebake or torch.  ``mediapipe``
itself is imported only inside :func:`main`, which lets the tests import the
pure helpers (jitter, landmark names) with nothing but numpy installed.

What is measured, and why:

* The legacy ``mp.solutions.pose.Pose(static_image_mode=False,
  model_complexity=1, smooth_landmarks=True)`` graph -- the "full" model with
  MediaPipe's own tracking and smoothing, i.e. what a user gets out of the box.
* Only the ``pose.process`` calls are timed (``time.perf_counter`` around each
  call).  Decoding and the BGR->RGB conversion are excluded so the number
  compares inference pipelines, not video codecs.  Short clips are decoded
  into memory up front so decode cannot interleave with the timed calls; long
  clips are streamed (decode is still outside the timed region).
* World-landmark jitter: mean norm of the second temporal difference
  (mm/frame^2) over runs of consecutive detected frames, all 33 joints.  It is
  a smoothness proxy with no ground truth needed, which is all these clips allow.

Usage::

    .venv-mediapipe/bin/python bench/mediapipe_baseline.py VIDEO -o OUT.npz \
        [--start S --end E]      # frame indices, E exclusive

Prints one JSON line summarising the run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

SCHEMA = "posebake.mediapipe_baseline/1"

# MediaPipe's 33 BlazePose landmarks, in its index order, snake case.  Spelled
# out here (rather than derived from mp.solutions.pose.PoseLandmark) so the npz
# contract does not depend on importing mediapipe; main() cross-checks them.
JOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
    "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
    "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
    "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
N_JOINTS = len(JOINT_NAMES)

# Above this many decoded bytes we stream instead of preloading, so a long or
# high-resolution clip cannot exhaust RAM on a shared machine.
DEFAULT_PRELOAD_MB = 1024


def second_difference_jitter_mm(world: np.ndarray) -> float:
    """Mean norm (mm/frame^2) of the 2nd temporal difference of ``world`` (T,J,3) metres.

    Only triples of consecutive frames where all three are detected (no NaN in
    the frame) contribute, so a lost track does not read as a huge jump.  Every
    joint of every valid triple is weighted equally.  Returns NaN when no valid
    triple exists (fewer than 3 consecutive detections).
    """
    w = np.asarray(world, dtype=np.float64)
    if w.ndim != 3 or w.shape[-1] != 3:
        raise ValueError(f"world must be (T, J, 3), got {w.shape}")
    if w.shape[0] < 3:
        return float("nan")
    detected = ~np.isnan(w).any(axis=(1, 2))
    valid = detected[:-2] & detected[1:-1] & detected[2:]
    if not valid.any():
        return float("nan")
    acc = w[2:] - 2.0 * w[1:-1] + w[:-2]  # (T-2, J, 3)
    norms = np.linalg.norm(acc[valid], axis=-1)  # (n_valid, J)
    return float(norms.mean() * 1000.0)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MediaPipe legacy Pose (full) baseline on one video.")
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True, help="output .npz")
    p.add_argument("--start", type=int, default=0, help="first frame index (inclusive)")
    p.add_argument("--end", type=int, default=None, help="last frame index (exclusive)")
    p.add_argument("--preload-mb", type=float, default=DEFAULT_PRELOAD_MB,
                   help="decode into memory first when the clip fits in this many MB, else stream")
    args = p.parse_args(argv)
    if args.start < 0 or (args.end is not None and args.end <= args.start):
        p.error("need 0 <= --start < --end")
    return args


def _frames(cap: Any, start: int, end: int | None) -> Iterator[np.ndarray]:
    """Yield RGB frames [start, end) from an opened cv2.VideoCapture.

    Seeks by grabbing rather than CAP_PROP_POS_FRAMES because seeking is
    unreliable for VP9/webm-in-mp4 streams like the Sports2D clip.
    """
    import cv2

    idx = 0
    while end is None or idx < end:
        if idx < start:
            if not cap.grab():
                return
            idx += 1
            continue
        ok, bgr = cap.read()
        if not ok:
            return
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        idx += 1


def _os_thread_count() -> int | None:
    """Threads in this process right now (Linux), to show how many MediaPipe spun up."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the baseline, write the npz, print the JSON summary; return an exit code."""
    args = _parse_args(argv)
    import cv2
    import mediapipe as mp

    mp_names = tuple(lm.name.lower() for lm in mp.solutions.pose.PoseLandmark)
    if mp_names != JOINT_NAMES:
        print(f"error: mediapipe landmark order changed: {mp_names}", file=sys.stderr)
        return 3

    cap = cv2.VideoCapture(str(args.video))
    if not cap.isOpened():
        print(f"error: OpenCV cannot open {args.video}", file=sys.stderr)
        return 2
    fps_video = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    n_reported = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    stop = n_reported if args.end is None else min(args.end, n_reported or args.end)
    est_bytes = max(stop - args.start, 0) * width * height * 3
    # Unknown length (no frame count in the container) -> stream, to stay bounded.
    preload = stop > 0 and est_bytes <= args.preload_mb * 1024 * 1024
    source: Any = _frames(cap, args.start, args.end)
    if preload:
        source = list(source)
        cap.release()

    world_rows: list[np.ndarray] = []
    img_rows: list[np.ndarray] = []
    vis_rows: list[np.ndarray] = []
    timings: list[float] = []
    nan_pt = np.full((N_JOINTS, 3), np.nan, dtype=np.float32)
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                smooth_landmarks=True) as pose:
        for rgb in source:
            if (rgb.shape[1], rgb.shape[0]) != (width, height):
                width, height = rgb.shape[1], rgb.shape[0]  # trust decoded size over metadata
            t0 = time.perf_counter()
            res = pose.process(rgb)
            timings.append(time.perf_counter() - t0)
            if res.pose_world_landmarks is None or res.pose_landmarks is None:
                world_rows.append(nan_pt)
                img_rows.append(nan_pt)
                vis_rows.append(nan_pt[:, 0])
                continue
            world_rows.append(np.array([[l.x, l.y, l.z] for l in res.pose_world_landmarks.landmark],
                                       dtype=np.float32))
            lms = res.pose_landmarks.landmark
            img_rows.append(np.array([[l.x * width, l.y * height, l.visibility] for l in lms],
                                     dtype=np.float32))
            vis_rows.append(img_rows[-1][:, 2].copy())
        threads = _os_thread_count()
    if not preload:
        cap.release()

    n = len(timings)
    if n == 0:
        print(f"error: no frames decoded from {args.video} in [{args.start}, {args.end})",
              file=sys.stderr)
        return 2
    world = np.stack(world_rows)
    joints_2d = np.stack(img_rows)[:, :, :2]
    visibility = np.stack(vis_rows)
    process_seconds = np.asarray(timings, dtype=np.float64)
    detected = ~np.isnan(world).any(axis=(1, 2))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        schema=np.array(SCHEMA),
        joint_names=np.array(JOINT_NAMES),
        world=world,
        joints_2d=joints_2d,
        visibility=visibility,
        fps_video=np.float64(fps_video),
        process_seconds=process_seconds,
        image_size=np.array([width, height], dtype=np.int64),  # (width, height) pixels
        frame_range=np.array([args.start, args.start + n], dtype=np.int64),
    )
    summary = {
        "video": str(args.video),
        "frames": n,
        "start": args.start,
        "image_size": [width, height],
        "fps_video": round(fps_video, 3),
        "detected_fraction": round(float(detected.mean()), 4),
        "process_fps": round(n / float(process_seconds.sum()), 2),
        "process_ms_median": round(float(np.median(process_seconds)) * 1000.0, 2),
        "first_frame_ms": round(float(process_seconds[0]) * 1000.0, 2),  # includes graph warm-up
        "jitter_mm_per_frame2": round(second_difference_jitter_mm(world), 2),
        "mediapipe_version": mp.__version__,
        "threads": threads,
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "decode": "preloaded" if preload else "streamed",
        "out": str(args.out),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
