"""CUDA against the CPU (issue #21's GPU proof): the same models and pipeline, float16 autocast on the GPU
as the pipeline runs them, within the bounds the CPU float16 checks set (tests/test_tflite_parity.py).

Marker `cuda`: these run where torch sees a GPU (`bench/gpu.sh`), and on the CPU in `bench/gpu.sh --dry-run`
(CI), where they only prove the code paths still run. Elsewhere they are deselected (tests/conftest.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from posebake.crop import FrameBatch
from posebake.estimate import EstimateOptions, Estimator
from posebake.models import load_model
from tests.conftest import gpu_test_device, read_frame

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def device() -> torch.device:
    name = gpu_test_device()
    assert name is not None  # deselected otherwise
    return torch.device(name)


def _autocast(device: torch.device) -> torch.autocast:
    return torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda")


def test_frame_crops_agree(videos: Path, device: torch.device) -> None:
    """grid_sample on the GPU samples the same points as warpAffine on the CPU (crop.py)."""
    frame = read_frame(videos / "phalp_running_woman.mp4", 60)
    rois = torch.tensor([[745.0, 508.0, 830.0, 830.0, 0.3], [500.0, 900.0, 300.0, 300.0, -1.0]])
    idx = torch.zeros(2, dtype=torch.long)
    cpu = FrameBatch(frame[None], torch.device("cpu")).crop(rois, idx, 256, "zeros")
    dev = FrameBatch(frame[None], device).crop(rois, idx, 256, "zeros").cpu()
    assert (cpu - dev).abs().mean() < 2 / 255 and (cpu - dev).abs().max() < 0.2


@pytest.mark.parametrize("name,size", [("pose_landmark_full", 256), ("hand_landmark_full", 224)])
def test_landmark_models_in_float16_match_the_cpu(videos: Path, model_files: Path, device: torch.device,
                                                   name: str, size: int) -> None:
    frame = read_frame(videos / "phalp_running_woman.mp4", 60)
    crop = torch.from_numpy(frame[100:930, 330:1160]).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.interpolate(crop, size=(size, size), mode="area").repeat(32, 1, 1, 1)
    with torch.no_grad():
        ref = load_model(name, torch.device("cpu"))(x)
        with _autocast(device):
            got = load_model(name, device)(x.to(device))
    world = 3 if name == "hand_landmark_full" else 4  # world landmarks, metres; output 0: crop pixels
    px = (ref[0] - got[0].float().cpu()).abs().max()
    metres = (ref[world] - got[world].float().cpu()).abs().max()
    assert px < 1.5 and metres < 0.02, (name, float(px), float(metres))


def test_estimate_on_the_gpu_matches_the_cpu(videos: Path, model_files: Path, device: torch.device) -> None:
    """The whole pipeline, 24 frames of the runner: joints within 3 px and 3 cm of the CPU run."""
    opts = EstimateOptions(end=24, smooth="smoothnet")
    cpu = Estimator("cpu").run(videos / "phalp_running_woman.mp4", opts)
    dev = Estimator(str(device)).run(videos / "phalp_running_woman.mp4", opts)
    assert cpu.joints_2d.shape == dev.joints_2d.shape
    seen = np.isfinite(cpu.joints_2d).all(-1) & np.isfinite(dev.joints_2d).all(-1)
    assert seen.mean() > 0.9
    px = np.linalg.norm(cpu.joints_2d - dev.joints_2d, axis=-1)[seen]
    cm = 100 * np.linalg.norm(cpu.joints_cam - dev.joints_cam, axis=-1)[seen]
    assert np.median(px) < 1.0 and np.percentile(px, 95) < 3.0, (np.median(px), np.percentile(px, 95))
    assert np.median(cm) < 1.0 and np.percentile(cm, 95) < 3.0, (np.median(cm), np.percentile(cm, 95))
