"""Benchmark: the four models on the CPU engines PoseBake can pick (`posebake.models.runtime`): torch
(channels_last) against ONNX Runtime (the file `posebake models fetch` exports), same threads, for issue #21's
CPU bar.

Each model runs the outputs the pipeline reads, on random crops of its input size at batch 1 and 8, mean of
REPEATS calls after warm-up; beside it the largest output difference between the engines at batch 8 (in
each output's own units: crop pixels for landmarks, metres for world landmarks, logits for scores). Writes
bench/results/onnx_runtime.md. Run: `.venv/bin/python bench/onnx_runtime.py`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header, write_table  # noqa: E402

from posebake.device import configure_cpu_threads  # noqa: E402
from posebake.models.registry import MODELS  # noqa: E402
from posebake.models.runtime import load_runner  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REPEATS = 10


def per_crop_ms(run, size: int, batch: int) -> float:
    x = torch.rand(batch, 3, size, size)
    for _ in range(3):
        run(x)
    t = time.perf_counter()
    for _ in range(REPEATS):
        run(x)
    return (time.perf_counter() - t) / REPEATS / batch * 1000


def main() -> None:
    import onnxruntime as ort

    threads = configure_cpu_threads()
    rows = []
    for name, spec in MODELS.items():
        engines = {e: load_runner(name, "cpu", e) for e in ("torch", "onnx")}
        x = torch.rand(8, 3, spec.input_size, spec.input_size)
        ref, got = engines["torch"](x), engines["onnx"](x)
        diff = max(float((a - b).abs().max()) for a, b in zip(got, ref))
        for batch in (1, 8):
            t, o = (per_crop_ms(engines[e], spec.input_size, batch) for e in ("torch", "onnx"))
            rows.append(f"| {name} | {batch} | {t:.2f} | {o:.2f} | {t / o:.2f}x | {diff:.1e} |")
            print(rows[-1], flush=True)
    text = "\n".join([
        "# The models on the CPU: torch against ONNX Runtime\n",
        machine_header("cpu"),
        f"{threads} threads for each engine; torch {torch.__version__} (channels_last, as torch runs them in "
        f"the estimate), onnxruntime {ort.__version__} (the session options of posebake.models.runtime). Random "
        f"crops of each model's input size, mean of {REPEATS} calls after warm-up. Difference: the largest "
        "over every output the pipeline reads, batch 8, in the outputs' own units.\n",
        "| model | batch | torch ms/crop | ONNX Runtime ms/crop | speed-up | largest difference |",
        "|---|---:|---:|---:|---:|---:|",
        *rows, ""])
    write_table(REPO / "bench" / "results" / "onnx_runtime.md", text)


if __name__ == "__main__":
    main()
