"""GPU speed table (issue #21): the numbers `bench/gpu.sh` collects on a CUDA machine.

    python bench/gpu.py [--dry-run] [--out FILE]

Rows: the pose landmark model (float16, channels_last) at batch 1 / 32 / 128; the hand landmark model at
batch 128; end-to-end `Estimator.run` on the shared 1080p clips (frames per second with and without decode);
SmoothNet and the lifter per frame on a 1,800-frame track. Targets on an H100/H200 class GPU: landmark
stage >= 1,000 fps at batch 128, end to end >= 300 fps on 1080p.

`--dry-run` runs every kind of row on the CPU at toy sizes (batch 1 and 2, 8 frames of one clip, a 200-frame
track) so the
script cannot rot in CI; its numbers mean nothing and it writes to a temporary file unless --out is given.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header, time_ms  # noqa: E402

from posebake.paths import shared_data  # noqa: E402

CLIPS_1080 = ("phalp_running_woman.mp4", "sports2d_two_people_exit_frame.mp4", "mmhuman3d_two_people_handshake.mp4")


def model_rows(device: torch.device, batches: tuple[int, ...], repeats: int) -> list[str]:
    from posebake.models import MODELS, load_model

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rows = []
    for name, sizes in (("pose_landmark_full", batches), ("hand_landmark_full", batches[-1:])):
        size = MODELS[name].input_size
        model = load_model(name, device).to(memory_format=torch.channels_last)
        for b in sizes:
            x = torch.rand(b, 3, size, size, device=device).contiguous(memory_format=torch.channels_last)

            def run() -> None:
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda"):
                    model(x)

            ms = time_ms(run, repeats, warmup=3, sync=sync)
            rows.append(f"| {name} | batch {b} | {ms / b:.3f} ms/crop | {1000 * b / ms:,.0f} crops/s |")
            print(rows[-1], flush=True)
    return rows


def estimate_rows(device: torch.device, end: int | None, clips: tuple[str, ...]) -> list[str]:
    from posebake.estimate import EstimateOptions, Estimator

    est = Estimator(str(device))
    rows = []
    for clip in clips:
        video = shared_data() / "videos" / clip
        est.run(video, EstimateOptions(end=8))  # warm-up: kernels, cuDNN autotuning, model loads
        t0 = time.perf_counter()
        m = est.run(video, EstimateOptions(end=end))
        wall = time.perf_counter() - t0
        n = int(est.timings["frames"])
        decode = est.timings.get("decode", 0.0)
        rows.append(f"| estimate {clip} | {m.image_size[0]}x{m.image_size[1]}, {n} frames, {m.num_tracks} people | "
                    f"{n / wall:.0f} fps with decode | {n / max(wall - decode, 1e-9):.0f} fps without |")
        print(rows[-1], flush=True)
    return rows


def temporal_rows(device: torch.device, frames: int) -> list[str]:
    from posebake.smoothing import smooth_joints

    rng = np.random.default_rng(0)
    track = (np.cumsum(rng.normal(0, 0.01, (frames, 33, 3)), axis=0) + [0, 0, 3]).astype(np.float32)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    ms = time_ms(lambda: smooth_joints(track, "smoothnet", device=str(device)), 3, warmup=1, sync=sync)
    rows = [f"| SmoothNet (T=32, stride 1) | {frames}-frame track | {1000 * ms / frames:.1f} us/frame | |"]
    from posebake.lifting import LIFTERS
    from posebake_core.motion import Motion

    lifter = LIFTERS.get("motionbert")
    if lifter is not None:
        uv = rng.uniform(400, 600, (1, frames, 33, 2))
        m = Motion(joints_cam=track[None], joints_2d=uv, visibility=np.ones((1, frames, 33)), fps=30.0,
                   K=np.array([[1000.0, 0, 540], [0, 1000.0, 960], [0, 0, 1]]), image_size=(1080, 1920))
        ms = time_ms(lambda: lifter(m, str(device)), 3, warmup=1, sync=sync)
        rows.append(f"| lifter (motionbert, flip) | {frames}-frame track | {1000 * ms / frames:.1f} us/frame | |")
    print("\n".join(rows), flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dry-run", action="store_true", help="CPU, toy sizes: prove the script runs")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.dry_run:
        from posebake.device import configure_cpu_threads

        device = torch.device("cpu")
        configure_cpu_threads()
        batches, repeats, end, frames, clips = (1, 2), 2, 8, 200, CLIPS_1080[:1]
        out = args.out or Path(tempfile.gettempdir()) / "posebake_gpu_dryrun.md"
    else:
        if not torch.cuda.is_available():
            raise SystemExit(f"bench/gpu.py: torch {torch.__version__} sees no CUDA device; use --dry-run on a CPU")
        device = torch.device("cuda")
        torch.backends.cudnn.benchmark = True
        batches, repeats, end, frames, clips = (1, 32, 128), 20, None, 1800, CLIPS_1080
        out = args.out or Path(__file__).resolve().parent / "results" / "gpu.md"
    t0 = time.time()
    rows = model_rows(device, batches, repeats) + estimate_rows(device, end, clips) + temporal_rows(device, frames)
    title = "# GPU speed (dry run on the CPU: numbers mean nothing)" if args.dry_run else "# GPU speed"
    text = [title, "", machine_header(str(device)), "", "Written by `bench/gpu.sh` (`bench/gpu.py`). Targets on "
            "an H100/H200: landmark stage >= 1,000 crops/s at batch 128; end to end >= 300 fps on 1080p.", "",
            "| what | size | speed | |", "|---|---|---|---|", *rows, "", f"Total {time.time() - t0:.0f} s."]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text) + "\n")
    print(f"table written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
