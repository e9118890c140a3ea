"""Shared fixtures: the real data beside the checkout and the real model files."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from posebake.paths import shared_data

# Keep the two cores for the work itself; torch's default inter-op pool adds nothing here.
os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = shared_data()
    if not (d / "videos").is_dir():
        pytest.skip(f"shared test data not found at {d} (set POSEBAKE_DATA)")
    return d


@pytest.fixture(scope="session")
def videos(data_dir: Path) -> Path:
    return data_dir / "videos"


@pytest.fixture(scope="session")
def model_files() -> Path:
    """The real model cache, fetched (a no-op when already there) before the first test that needs it."""
    from posebake.models.fetch import fetch
    from posebake.models.store import models_dir

    fetch(log=lambda msg: None)
    return models_dir()


def read_frame(path: Path, index: int) -> np.ndarray:
    """Frame `index` of a video as RGB uint8 (decoded sequentially, so the index is exact)."""
    cap = cv2.VideoCapture(str(path))
    try:
        for _ in range(index):
            cap.grab()
        ok, bgr = cap.read()
    finally:
        cap.release()
    assert ok, f"cannot read frame {index} of {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# -- CUDA tests (marker `cuda`) run where there is a GPU, or on the CPU under `bench/gpu.sh --dry-run` -----------
def gpu_test_device() -> str | None:
    """The device the `cuda` tests compare against the CPU: CUDA when torch sees it, the CPU itself in a
    dry run (POSEBAKE_GPU_DRY_RUN=1: the code paths run, the numbers mean nothing), else None."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu" if os.environ.get("POSEBAKE_GPU_DRY_RUN") == "1" else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a GPU (and outside a dry run) the `cuda` tests are deselected, not skipped: a machine without
    a GPU is the normal case, and `bench/gpu.sh` is where they run."""
    if gpu_test_device() is not None:
        return
    keep = [i for i in items if i.get_closest_marker("cuda") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("cuda") is not None])
        items[:] = keep


# -- under CI a skip is a failure ---------------------------------------------------------------------------
# A missing dependency (bpy, the shared data, the models) must not let CI pass with the tests that need it
# quietly skipped: with CI set (CI=true on the CI machine), any skipped test fails the run.
_SKIPPED: list[str] = []


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _ci() and _SKIPPED and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _ci() and _SKIPPED:
        terminalreporter.write_line(f"CI is set: {len(_SKIPPED)} skipped test(s) fail the run: "
                                    + ", ".join(_SKIPPED[:10]), red=True)
