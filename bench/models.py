"""Benchmark: ms/frame of the ported detector and landmark model, torch vs ai-edge-litert, same run.

    python bench/models.py [--device cpu|cuda] [--repeats N] [--out bench/results/models.md]

Torch rows: batch 1, 8, 32, with and without channels_last memory format (float16 autocast on CUDA).
LiteRT rows: the reference runtime (XNNPACK, 2 threads) on the same .tflite files, batch 1 (its graphs
have a fixed batch of 1). Inputs are real crops from the shared runner clip, not random noise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header, time_ms, write_table  # noqa: E402

from posebake.device import configure_cpu_threads, pick_device  # noqa: E402
from posebake.models import MODELS, load_model, models_dir  # noqa: E402
from posebake.paths import shared_data  # noqa: E402


def real_input(size: int) -> np.ndarray:
    """A (1,size,size,3) float crop of a real frame around the runner, in [0,1]."""
    import cv2

    cap = cv2.VideoCapture(str(shared_data() / "videos" / "phalp_running_woman.mp4"))
    for _ in range(60):
        cap.grab()
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        raise SystemExit("cannot read the runner clip")
    crop = cv2.cvtColor(bgr[100:930, 330:1160], cv2.COLOR_BGR2RGB)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)[None] / 255.0


def bench_torch(name: str, device: torch.device, batch: int, channels_last: bool, repeats: int) -> float:
    size = MODELS[name].input_size
    model = load_model(name, device)
    x = torch.from_numpy(real_input(size)).permute(0, 3, 1, 2).repeat(batch, 1, 1, 1).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def run() -> None:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda"):
            model(x)

    return time_ms(run, repeats, sync=sync) / batch


def bench_litert(name: str, repeats: int) -> float:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(models_dir() / MODELS[name].filename), num_threads=2)
    it.allocate_tensors()
    x = real_input(MODELS[name].input_size)
    if name == "pose_detection":
        x = x * 2 - 1
    idx = it.get_input_details()[0]["index"]

    def run() -> None:
        it.set_tensor(idx, x)
        it.invoke()

    return time_ms(run, repeats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "models.md")
    args = ap.parse_args()
    device = pick_device(args.device)
    if device.type == "cpu":
        configure_cpu_threads()
    rows = []
    for name in ("pose_detection", "pose_landmark_full"):
        for batch in (1, 8, 32):
            for cl in (False, True):
                ms = bench_torch(name, device, batch, cl, max(3, args.repeats // batch * 2))
                rows.append(f"| {name} | torch {device.type}{' fp16' if device.type == 'cuda' else ''} | {batch} | "
                            f"{'channels_last' if cl else 'contiguous'} | {ms:.2f} | {1000 / ms:.0f} |")
                print(rows[-1], flush=True)
        ms = bench_litert(name, args.repeats)
        rows.append(f"| {name} | ai-edge-litert (XNNPACK, 2 threads) | 1 | NHWC | {ms:.2f} | {1000 / ms:.0f} |")
        print(rows[-1], flush=True)
    text = ("# Model speed: torch port vs ai-edge-litert\n\n" + machine_header(str(device)) + "\n\n"
            "| model | runtime | batch | memory format | ms/frame | frames/s |\n|---|---|---:|---|---:|---:|\n"
            + "\n".join(rows) + "\n")
    write_table(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
