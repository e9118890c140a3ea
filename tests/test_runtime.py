"""The ONNX Runtime engine (models/runtime.py): the same outputs as torch on real crops, the same estimate,
a damaged or stale export rebuilt, and clear errors for impossible choices."""
from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest
import torch

from posebake.crop import FrameBatch
from posebake.models.registry import MODELS
from posebake.models.runtime import load_runner, onnx_ok, onnx_path, pick_runtime
from posebake_core.errors import PoseBakeError

from .conftest import read_frame

CPU = torch.device("cpu")


def _crops(videos, size: int) -> torch.Tensor:
    """Four real crops of the runner (whole frame, her body, and two off-centre squares), in [0, 1]."""
    frame = read_frame(videos / "phalp_running_woman.mp4", 60)
    rois = torch.tensor([[960.0, 544.0, 1920.0, 1920.0, 0.0], [700.0, 510.0, 700.0, 700.0, 0.2],
                         [400.0, 300.0, 500.0, 500.0, -0.5], [1500.0, 800.0, 300.0, 300.0, 1.0]])
    return FrameBatch(frame[None], CPU).crop(rois, torch.zeros(4, dtype=torch.long), size, "border")


@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_matches_torch_on_real_crops(model_files, videos, name):
    """Every output the pipeline reads, within 1e-4 of its own range (measured: at most 1.8e-5 of it, the
    landmark model's; a wrong output order or a dropped layer differs by the whole range)."""
    x = _crops(videos, MODELS[name].input_size)
    ref = load_runner(name, CPU, "torch")(x)
    got = load_runner(name, CPU, "onnx")(x)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert a.shape == b.shape
        scale = max(1.0, float(b.abs().max()))
        assert float((a - b).abs().max()) <= 1e-4 * scale


def test_estimates_agree_between_engines(model_files, videos):
    """The whole estimate on 16 frames of the runner. Tracking feeds each frame's landmarks into the next
    crop, and the heatmap refinement switches per point at a confidence of 0.5, so a few points move by more
    than the engines' own difference (measured: median 0.18 px, 99th percentile 7.6 px, one foot point 54 px
    where one engine's heatmap peak sat just under 0.5; world median 4.7 mm). A wrong output order or a
    broken layer moves every point by tens of pixels."""
    from posebake.estimate import EstimateOptions, Estimator

    opts = EstimateOptions(max_people=1, end=16, smooth="none", estimate_focal=False)
    video = videos / "phalp_running_woman.mp4"
    onnx, torch_ = Estimator("cpu", "onnx"), Estimator("cpu", "torch")
    assert onnx.landmarker.model.engine == "onnx" and torch_.landmarker.model.engine == "torch"
    a, b = onnx.run(video, opts), torch_.run(video, opts)
    assert a.joints_2d.shape == b.joints_2d.shape
    px = np.linalg.norm(a.joints_2d - b.joints_2d, axis=-1)
    assert np.nanmedian(px) < 0.5 and np.nanpercentile(px, 95) < 3.0
    assert np.nanmedian(np.linalg.norm(a.joints_cam - b.joints_cam, axis=-1)) < 0.01


def test_auto_picks_onnx_on_the_cpu_and_torch_elsewhere():
    assert pick_runtime("auto", CPU) == "onnx"
    assert pick_runtime("auto", torch.device("cuda")) == "torch"
    assert pick_runtime("torch", CPU) == "torch"
    with pytest.raises(PoseBakeError, match="CPU only"):
        pick_runtime("onnx", torch.device("cuda"))
    with pytest.raises(PoseBakeError, match="unknown runtime"):
        pick_runtime("tensorrt", CPU)


def test_a_damaged_export_is_rebuilt(model_files, tmp_path, monkeypatch):
    """A truncated .onnx (a crash mid-copy, a full disk) fails its checksum and is exported again."""
    cache = tmp_path / "cache"
    shutil.copytree(model_files.parent, cache)
    monkeypatch.setenv("POSEBAKE_CACHE", str(cache))
    name = "pose_detection"
    assert onnx_ok(name)
    path = onnx_path(name)
    path.write_bytes(path.read_bytes()[:1000])
    assert not onnx_ok(name)
    reg, logits = load_runner(name, CPU, "onnx")(torch.rand(1, 3, 224, 224))
    assert onnx_ok(name) and reg.shape == (1, 2254, 12) and logits.shape == (1, 2254, 1)


def test_no_onnx_copy_possible_falls_back_to_torch(model_files, tmp_path, monkeypatch, caplog):
    """A model cache fetched before the ONNX engine existed, where no copy can be made (here: ONNX Runtime
    installed without the `onnx` exporter package; likewise a read-only cache): `auto` runs torch and says
    why; an explicit `onnx` fails with the reason."""
    cache = tmp_path / "cache"
    shutil.copytree(model_files.parent, cache)
    monkeypatch.setenv("POSEBAKE_CACHE", str(cache))
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    name = "pose_detection"
    onnx_path(name).unlink()
    with caplog.at_level("WARNING"):
        runner = load_runner(name, CPU, "auto")
    assert runner.engine == "torch" and "runs on torch" in caplog.text and "pip install onnx" in caplog.text
    with pytest.raises(PoseBakeError, match="cannot export pose_detection to ONNX.*pip install onnx"):
        load_runner(name, CPU, "onnx")
