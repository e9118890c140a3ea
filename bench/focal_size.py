"""Benchmark: the scene focal (`posebake.focal`) against the size its line detector works at
(`LSD_MAX_SIDE`), for issue #21's CPU bar: line detection on five 1080p frames cost 0.7 s, more than the
landmarks of a 40-frame clip.

Clips with a known focal: the committed rendered clips (true K) and the lab clip's four Qualisys-calibrated
views; the other shared real clips (no truth) show whether the estimate moves. Each cell: the error against
the truth (or the focal found), the outcome, and line detection's time per sampled frame. Writes
bench/results/focal_size.md. Run: `.venv/bin/python bench/focal_size.py`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_all import shared_clips  # noqa: E402
from benchutil import machine_header, write_table  # noqa: E402
from multiview_root import read_qualisys  # noqa: E402

import posebake.focal as F  # noqa: E402
from posebake.decode import VideoDecoder  # noqa: E402
from posebake.paths import shared_data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "bench" / "groundtruth" / "clips"
SIDES = (100_000, 1280, 960, 640)  # 100000: every frame at full size


def sampled_grays(path: Path) -> list[np.ndarray]:
    dec = VideoDecoder(path)
    sampler = F.FocalSampler(F.sample_frames(0, None, dec.info.frame_count))
    for first, batch in dec.batches(8, 0, sampler.last + 1):
        if sampler.offer(first, batch):
            break
    return sampler.grays


def cases() -> list[tuple[str, Path, float | None]]:
    out: list[tuple[str, Path, float | None]] = []
    for gt in sorted(CLIPS.glob("*_gt.npz")):
        name = gt.name[: -len("_gt.npz")]
        out.append((name, CLIPS / f"{name}.mp4", float(np.load(gt)["K"][0, 0])))
    lab = shared_data() / "videos" / "pose2sim_single_person_4cams"
    for cam in read_qualisys(lab / "Calib.qca.txt"):
        out.append((f"lab {cam.name}", lab / f"{cam.name}.mp4", float(cam.K[0, 0])))
    for clip in shared_clips(shared_data()):
        if "pose2sim" not in str(clip):
            out.append((clip.name, clip, None))
    return out


def main() -> None:
    rows = []
    saved = F.LSD_MAX_SIDE
    try:
        for name, path, truth in cases():
            grays = sampled_grays(path)
            cells = []
            for side in SIDES:
                F.LSD_MAX_SIDE = side
                t = time.perf_counter()
                for g in grays:
                    F.line_segments(g)
                ms = (time.perf_counter() - t) / len(grays) * 1000
                got = F.estimate_focal(grays)
                if got.focal_px is None:
                    value = "none"
                elif truth is None:
                    value = f"{got.focal_px:.0f} px"
                else:
                    value = f"{100 * (got.focal_px / truth - 1):+.1f} %"
                usable = sum(f is not None for f in got.per_frame)
                cells.append(f"{value} ({usable}/{len(grays)}), {ms:.0f} ms")
            size = f"{grays[0].shape[1]}x{grays[0].shape[0]}"
            truth_cell = f"{truth:.0f}" if truth is not None else "-"
            rows.append(f"| {name} | {size} | {truth_cell} | " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    finally:
        F.LSD_MAX_SIDE = saved
    head = " | ".join("full size" if s >= 100_000 else f"long side <= {s}" for s in SIDES)
    text = "\n".join([
        "# The scene focal against the line detector's working size\n",
        machine_header("cpu"),
        f"`posebake.focal.estimate_focal` on each clip's sampled frames ({F.MIN_SAMPLES}-{F.SAMPLE_FRAMES}, "
        f"at least {F.SAMPLE_GAP} frames apart where the clip allows), the frames shrunk by "
        "an integer factor until their long side is at most the limit. Cell: error against the true focal (or "
        "the focal found, for clips without truth; 'none': the default field of view is kept), frames that gave "
        "a well-conditioned pair, and line detection's time per frame. Shipped: "
        f"LSD_MAX_SIDE = {saved}.\n",
        f"| clip | size | true focal px | {head} |",
        "|---|---|---:|" + "---|" * len(SIDES),
        *rows, ""])
    write_table(REPO / "bench" / "results" / "focal_size.md", text)


if __name__ == "__main__":
    main()
