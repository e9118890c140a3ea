"""bench/contacts.py's ground-truth contacts, which every foot benchmark (contacts, foot_lock, sole_pitch,
contacts_tune) scores against: heights are read above the floor the actor stood on, fitted to the ground
truth's own still sole points, so a capture floor that tilts (CMU subject 02's, about a degree) does not hide
the later stances of a walk rendered on a level plane."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CLIPS = REPO / "bench" / "groundtruth" / "clips"


@pytest.fixture(scope="module")
def C() -> ModuleType:
    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("contacts_bench_under_test", REPO / "bench" / "contacts.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def walk_sites(tilt_deg: float, steps: int = 6, frames_per_step: int = 20) -> dict:
    """A schematic walk along +x on a floor rising at `tilt_deg`: each foot stands still for 12 frames of
    every 40 (heel and toe tip 25 cm apart), then swings 1.4 m forward 10 cm above the floor."""
    T = steps * frames_per_step
    rise = np.tan(np.radians(tilt_deg))
    sites = np.zeros((T, 4, 3))
    for k, y in enumerate((0.1, -0.1)):  # left, right
        x = np.zeros(T)
        air = np.zeros(T)
        for t in range(T):
            phase = (t + k * frames_per_step) % (2 * frames_per_step)
            cycle = (t + k * frames_per_step) // (2 * frames_per_step)
            if phase < 12:
                x[t] = 1.4 * cycle
            else:
                u = (phase - 12) / (2 * frames_per_step - 12)
                x[t] = 1.4 * (cycle + u)
                air[t] = 0.1 * np.sin(np.pi * u)
        for j, dx in enumerate((0.0, 0.25)):  # heel, toe tip
            sites[:, 2 * k + j] = np.stack([x + dx, np.full(T, y), rise * (x + dx) + air], axis=1)
    return {"site_names": np.array(["left_heel", "left_toe_tip", "right_heel", "right_toe_tip"]),
            "sites_world": sites}


def test_a_walk_on_a_tilted_capture_floor_keeps_every_stance(C: ModuleType) -> None:
    gt = walk_sites(1.2)
    _, _, slope = C.gt_floor_slope(gt)
    assert abs(np.degrees(np.arctan(slope))) == pytest.approx(1.2, abs=0.05)  # the sign goes with the axis found
    levelled, on_render = C.gt_contacts(gt), C.gt_contacts(gt, level=False)
    flat = C.gt_contacts(walk_sites(0.0))
    for S in "LR":
        assert (levelled[S] == flat[S]).all()  # the tilt no longer matters
        assert on_render[S].sum() <= levelled[S].sum() - 12  # on the level plane a whole later stance vanishes


def test_jumps_in_place_keep_a_level_floor(C: ModuleType) -> None:
    """Stances that do not spread give no slope to fit (a jump in place would otherwise tilt it by noise)."""
    gt = walk_sites(3.0, steps=1)
    gt["sites_world"][:, :, 0] *= 0.1  # everything within ~15 cm
    assert C.gt_floor_slope(gt)[2] == 0.0


@pytest.mark.parametrize("clip,tilted", [("walk_far", True), ("walk_side", True), ("run_three_quarter", True),
                                         ("forward_jumps_tracking", False), ("jump_close_pan", False),
                                         ("hop_elevated", False)])
def test_committed_clips_floor(C: ModuleType, clip: str, tilted: bool) -> None:
    with np.load(CLIPS / f"{clip}_gt.npz") as d:
        gt = {k: d[k] for k in d.files}
    tilt = abs(np.degrees(np.arctan(C.gt_floor_slope(gt)[2])))
    if tilted:  # CMU subject 02's capture floor
        assert 0.6 < tilt < 1.5
    else:
        assert tilt == 0.0
    if clip.startswith("walk"):  # a walk's stance phase is ~60 % of its cycle per foot
        truth = C.gt_contacts(gt)
        assert 0.45 < np.mean([truth[S].mean() for S in "LR"]) < 0.7


def test_ground_steeper_than_a_floor_keeps_the_level_plane(C: ModuleType) -> None:
    """Stances climbing a slope or rocks are not one tilted floor: the level plane stays."""
    assert C.gt_floor_slope(walk_sites(10.0))[2] == 0.0
