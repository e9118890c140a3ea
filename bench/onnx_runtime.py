"""Benchmark: the pose landmark model (our torch import of the wheel's TFLite file) run by ONNX Runtime on the
CPU, against the same module in torch, for issue #21's CPU bar (the landmark stage is 7-14 ms a frame of
PoseBake's estimate, bench/results/estimate.md).

The module the estimate runs (`select_outputs(load_model("pose_landmark_full"), [0, 1, 3, 4])`) is exported to
ONNX (TorchScript exporter, opset 17) into a temporary folder; both run on random 256x256 crops with the same
thread count, after warm-up; the outputs are compared. Needs `pip install onnx==1.23.2 onnxruntime==1.31.1`
(not a PoseBake dependency yet). Writes bench/results/onnx_runtime.md. Run: `.venv/bin/python
bench/onnx_runtime.py`.
"""
from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from posebake.models.store import load_model
from posebake.tflite.graph import select_outputs

REPO = Path(__file__).resolve().parents[1]
THREADS = 2
REPEATS = 10
OUTPUTS = ("landmarks", "pose flag", "heatmap", "world landmarks")


class _Tuple(torch.nn.Module):
    """The fx module behind a plain Module: the TorchScript exporter reads an fx `graph` attribute as its own."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.inner(x))


def per_crop_ms(run, batch: int) -> float:
    x = torch.rand(batch, 3, 256, 256)
    for _ in range(3):
        run(x)
    t = time.perf_counter()
    for _ in range(REPEATS):
        run(x)
    return (time.perf_counter() - t) / REPEATS / batch * 1000


def main() -> None:
    import onnxruntime as ort

    torch.set_num_threads(THREADS)
    module = _Tuple(select_outputs(load_model("pose_landmark_full"), [0, 1, 3, 4])).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pose_landmark_full.onnx")
        torch.onnx.export(module, (torch.rand(8, 3, 256, 256),), path, input_names=["x"],
                          dynamic_axes={"x": {0: "n"}}, opset_version=17, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    x = torch.rand(8, 3, 256, 256)
    with torch.no_grad():
        ref = module(x)
    got = session.run(None, {"x": x.numpy()})
    diffs = [float(np.abs(a - b.numpy()).max()) for a, b in zip(got, ref)]
    channels_last = module.to(memory_format=torch.channels_last)

    def torch_run(batch: torch.Tensor) -> None:
        with torch.no_grad():
            channels_last(batch.contiguous(memory_format=torch.channels_last))

    rows = [(b, per_crop_ms(torch_run, b), per_crop_ms(lambda t: session.run(None, {"x": t.numpy()}), b))
            for b in (1, 8)]
    lines = ["# Pose landmark model: torch against ONNX Runtime on the CPU\n",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `bench/onnx_runtime.py` on "
             f"{platform.processor() or platform.machine()}, nproc={os.cpu_count()}, {THREADS} threads each; torch "
             f"{torch.__version__} (channels_last, as the estimate runs it), onnxruntime {ort.__version__}. Random "
             f"256x256 crops, mean of {REPEATS} calls after warm-up.\n",
             "| batch | torch ms/crop | ONNX Runtime ms/crop | speed-up |", "|---:|---:|---:|---:|"]
    lines += [f"| {b} | {t:.2f} | {o:.2f} | {t / o:.2f}x |" for b, t, o in rows]
    lines.append("\nLargest output difference (ONNX Runtime vs torch, batch 8): " +
                 ", ".join(f"{n} {d:.1e}" for n, d in zip(OUTPUTS, diffs)) +
                 " (landmarks in 256-pixel crop units).")
    (REPO / "bench" / "results" / "onnx_runtime.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
