"""bench/multiview_root.py: the Qualisys calibration reader and the triangulation behind the real-footage
root reference (the benchmark itself runs the estimator four times, so it is not run here)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from posebake.paths import shared_data

BENCH = Path(__file__).resolve().parent.parent / "bench" / "multiview_root.py"
CALIB = shared_data() / "videos" / "pose2sim_single_person_4cams" / "Calib.qca.txt"


@pytest.fixture(scope="module")
def mv() -> ModuleType:
    spec = importlib.util.spec_from_file_location("multiview_root_under_test", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def cams(mv: ModuleType) -> list:
    if not CALIB.is_file():
        pytest.skip(f"{CALIB} missing (../shared/data)")
    return mv.read_qualisys(CALIB)


def test_calibration_is_read_in_pixels_and_metres(cams: list) -> None:
    assert [c.name for c in cams] == ["cam01", "cam02", "cam03", "cam04"]
    for c in cams:
        assert 1600 < c.K[0, 0] < 1750 and abs(c.K[0, 0] - c.K[1, 1]) < 5  # ~1680 px for 1088x1920 frames
        assert 400 < c.K[0, 2] < 700 and 850 < c.K[1, 2] < 1100  # principal point near the image centre
        np.testing.assert_allclose(c.R @ c.R.T, np.eye(3), atol=1e-6)
        assert 2.0 < np.linalg.norm(c.C[:2]) < 5.0  # cameras stand 2-5 m from the lab's origin


def test_all_cameras_look_at_the_capture_volume(cams: list) -> None:
    """The axis convention: the lab origin (where the subject performs) must lie in front of
    every camera and project inside its frame."""
    for c in cams:
        z = c.to_camera(np.zeros(3))
        assert z[2] > 1.0
        u = c.K @ z
        assert 0 < u[0] / u[2] < 1088 and 0 < u[1] / u[2] < 1920


def test_triangulation_recovers_a_point_from_its_projections(mv: ModuleType, cams: list) -> None:
    P = [c.projection() for c in cams]
    X = np.array([0.2, -0.1, 1.0])
    u = np.stack([(Pv @ np.append(X, 1.0))[:2] / (Pv @ np.append(X, 1.0))[2] for Pv in P])
    np.testing.assert_allclose(mv.triangulate(P, u), X, atol=1e-9)
    assert mv.reprojection_px(P, X, u).max() < 1e-6
    # undistortion only moves points by the lens model: the image centre stays put, a corner moves
    c = cams[0]
    centre = c.K[:2, 2][None]
    np.testing.assert_allclose(mv.undistort(centre, c), centre, atol=1e-6)
    assert np.linalg.norm(mv.undistort(np.array([[5.0, 5.0]]), c) - 5.0) > 1.0
