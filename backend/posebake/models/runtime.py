"""Which engine runs a model: ONNX Runtime on the CPU, torch everywhere else.

With the same threads ONNX Runtime runs our import of the pose landmark model 1.2x (Intel Xeon) to 1.8x
(AMD EPYC) faster than torch at batch 8 and 2x at batch 1 on the 2-core CPU boxes, outputs within 1.8e-5 of
each output's range (bench/results/onnx_runtime.md, tests/test_runtime.py). CUDA stays on torch (fp16
autocast, tested in tests/test_cuda.py).

The ONNX file is exported from the converted torch module (never downloaded): at `posebake models fetch`,
or on first use for a cache made before. Like the .pt, it is written atomically and trusted only while the
manifest's checksums say it came from the current .pt with the current exporter.

A runner is a callable: an NCHW float tensor in, the model's outputs (the ones `ModelSpec.outputs` keeps)
as a tuple of tensors out, whichever engine runs it.
"""
from __future__ import annotations

import logging
import warnings
from typing import Protocol, Sequence

import numpy as np
import torch

from posebake_core.atomic import atomic_path
from posebake_core.errors import PoseBakeError
from .registry import MODELS
from . import store


class Runner(Protocol):
    """What the model wrappers (detector, landmarker, hands, palm) call, whichever engine runs it."""

    engine: str  # "torch" or "onnx"

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]: ...


RUNTIMES = ("auto", "torch", "onnx")
#: ONNX opset of the export (TorchScript exporter): 17 holds every op the TFLite importer emits for the four
#: models (export and parity: tests/test_runtime.py).
OPSET = 17
log = logging.getLogger(__name__)


class TorchRunner:
    """A torch module as a runner: channels_last input (14-27 % faster at batch 8 on CPU,
    bench/results/models.md), gradients off, outputs as a tuple."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.module = module.to(memory_format=torch.channels_last)
        self.engine = "torch"

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.module(x.contiguous(memory_format=torch.channels_last)))


class OnnxRunner:
    """An ONNX Runtime session as a runner (CPU): tensors in and out share memory with numpy."""

    def __init__(self, session) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name
        self.engine = "onnx"

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        arr = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return tuple(torch.from_numpy(out) for out in self.session.run(None, {self.input: arr}))


class _Outputs(torch.nn.Module):
    """The fx module behind a plain Module: the TorchScript exporter mistakes an fx module's `graph`
    attribute for its own, and wants a tuple, not the list the importer returns."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.inner(x))


def _kept(name: str, module: torch.nn.Module) -> torch.nn.Module:
    from ..tflite.graph import select_outputs

    outputs = MODELS[name].outputs
    return select_outputs(module, list(outputs)) if outputs is not None else module


def _exporter_tag(name: str) -> str:
    return f"torch {torch.__version__} opset {OPSET} outputs {MODELS[name].outputs}"


def onnx_path(name: str):
    return store.models_dir() / f"{name}.onnx"


def onnx_ok(name: str) -> bool:
    """The cached ONNX file exists, is intact, and was exported by this exporter from the conversion the
    manifest records for the pinned .tflite and this importer (a new conversion rewrites the manifest entry,
    dropping the ONNX fields). Only the ONNX file is hashed: the engine never reads the .tflite or the .pt."""
    from ..tflite import IMPORTER_VERSION

    entry = store.read_manifest().get(name, {})
    path = onnx_path(name)
    return (entry.get("tflite_sha256") == MODELS[name].sha256 and entry.get("importer_version") == IMPORTER_VERSION
            and entry.get("onnx_from_pt") == entry.get("pt_sha256") and entry.get("onnx_exporter") == _exporter_tag(name)
            and path.is_file() and entry.get("onnx_sha256") == store.sha256_file(path))


def export_onnx(name: str, module: torch.nn.Module | None = None) -> None:
    """Export model `name` (the outputs PoseBake reads) from its converted torch module (`module`, when
    already loaded) to NAME.onnx."""
    try:
        import onnx  # noqa: F401  (the TorchScript exporter needs it; checked here for a clear message)
    except ImportError as exc:
        raise PoseBakeError("exporting a model to ONNX needs the `onnx` package (pip install onnx); "
                            "or run with --runtime torch") from exc
    spec = MODELS[name]
    module = _Outputs(_kept(name, module if module is not None else store.load_model(name))).eval()
    sample = torch.rand(2, 3, spec.input_size, spec.input_size)
    with atomic_path(onnx_path(name)) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on constant folding: nothing a user can act on
        torch.onnx.export(module, (sample,), str(tmp), input_names=["x"], dynamic_axes={"x": {0: "n"}},
                          opset_version=OPSET, dynamo=False)
    manifest = store.read_manifest()
    entry = manifest.setdefault(name, {})
    entry.update(onnx_sha256=store.sha256_file(onnx_path(name)), onnx_from_pt=entry.get("pt_sha256"),
                 onnx_exporter=_exporter_tag(name))
    store.write_manifest(manifest)


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _session(name: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Denormals as zero: the BlazePose models' activations decay into the denormal range, which x86 handles
    # in microcode (6x slower in torch without flush-to-zero, posebake.device.configure_cpu_threads).
    opts.add_session_config_entry("session.set_denormal_as_zero", "1")
    # No spin-waiting between runs: the estimate's other work (the focal's line search in its thread, the
    # decoder's threads, OpenCV) needs those cores then; the runner on the 2-core box went 58.5 -> 63.4 fps.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return ort.InferenceSession(str(onnx_path(name)), opts, providers=["CPUExecutionProvider"])


def pick_runtime(runtime: str, device: torch.device) -> str:
    """Resolve `auto|torch|onnx` for `device`: auto is ONNX Runtime on the CPU when it is installed."""
    if runtime not in RUNTIMES:
        raise PoseBakeError(f"unknown runtime {runtime!r}: use {', '.join(RUNTIMES)}")
    if runtime == "torch" or (runtime == "auto" and device.type != "cpu"):
        return "torch"
    if device.type != "cpu":
        raise PoseBakeError(f"--runtime onnx runs on the CPU only; device {device} runs torch")
    if not onnx_available():
        if runtime == "onnx":
            raise PoseBakeError("--runtime onnx needs onnxruntime (pip install onnxruntime)")
        log.warning("onnxruntime is not installed: the models run on torch (slower on the CPU: "
                    "bench/results/onnx_runtime.md)")
        return "torch"
    return "onnx"


def load_runner(name: str, device: torch.device | str = "cpu", runtime: str = "auto") -> Runner:
    """Model `name` ready to run on `device` with the engine `runtime` picks (see `pick_runtime`)."""
    device = torch.device(device)
    if pick_runtime(runtime, device) == "torch":
        return TorchRunner(_kept(name, store.load_model(name, device)))
    if not onnx_ok(name):
        module = store.load_model(name)  # a missing or unconverted model fails here with the fetch hint
        try:
            export_onnx(name, module)
        except (OSError, PoseBakeError) as exc:  # a read-only cache fetched by an older version, no `onnx`
            if runtime == "onnx":
                raise PoseBakeError(f"cannot export {name} to ONNX in {store.models_dir()}: {exc}") from exc
            log.warning("%s runs on torch: no ONNX copy could be made (%s); `posebake models fetch` with a "
                        "writable cache makes one", name, exc)
            return TorchRunner(_kept(name, module))
    from ..device import configure_cpu_threads

    return OnnxRunner(_session(name, configure_cpu_threads()))


def engines(runners: Sequence[Runner]) -> str:
    """'onnx' / 'torch' / 'onnx+torch': what ran, for reports and benches."""
    return "+".join(sorted({r.engine for r in runners}))

