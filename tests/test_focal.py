"""Focal length from the scene's vanishing points (posebake.focal): synthetic floors, rendered clips, real footage."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posebake.camera import make_K
from posebake.focal import estimate_focal, estimate_focal_from_video, frame_focal

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "bench" / "groundtruth" / "clips"


def tiled_floor(focal: float, yaw_deg: float, tilt_deg: float, size=(1280, 720), tile=0.5) -> np.ndarray:
    """A grey image of a checkered floor seen from 1.6 m up by a pinhole camera (OpenCV axes)."""
    import cv2

    w, h = size
    K = make_K(focal, w, h)
    yaw, tilt = math.radians(yaw_deg), math.radians(tilt_deg)
    # world: x, y on the floor, z up; camera looks along world +y turned by yaw, pitched down by tilt
    fwd = np.array([math.sin(yaw) * math.cos(tilt), math.cos(yaw) * math.cos(tilt), -math.sin(tilt)])
    right = np.array([math.cos(yaw), -math.sin(yaw), 0.0])
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd])  # rows: camera x (right), y (down), z (forward) in world axes
    eye = np.array([0.0, 0.0, 1.6])
    img = np.full((h, w), 200, np.uint8)
    for i in range(-60, 60):
        for j in range(-60, 60):
            corners = np.array([[i, j, 0], [i + 1, j, 0], [i + 1, j + 1, 0], [i, j + 1, 0]], float) * tile
            cam = (corners - eye) @ R.T
            if (cam[:, 2] < 0.3).any():
                continue
            px = cam @ K.T
            px = px[:, :2] / px[:, 2:]
            if (i + j) % 2 == 0:
                cv2.fillConvexPoly(img, np.round(px * 16).astype(np.int32), 70, lineType=cv2.LINE_AA, shift=4)
    return img


@pytest.mark.parametrize("focal,yaw,tilt", [(900.0, 35.0, 20.0), (1600.0, -25.0, 10.0), (600.0, 50.0, 30.0)])
def test_focal_of_a_tiled_floor(focal, yaw, tilt):
    assert frame_focal(tiled_floor(focal, yaw, tilt)) == pytest.approx(focal, rel=0.03)


def test_tiles_seen_straight_on_give_no_focal():
    """Looking along the tiles, one family of lines is parallel in the image: its vanishing point is at
    infinity, the pair says nothing about the focal, and the estimate must refuse rather than guess."""
    img = tiled_floor(900.0, 0.0, 15.0)
    assert frame_focal(img) is None
    assert estimate_focal([img, img, img]).focal_px is None


def test_frames_that_disagree_give_no_focal():
    frames = [tiled_floor(700.0, 35.0, 20.0), tiled_floor(1400.0, 35.0, 20.0), tiled_floor(1000.0, 35.0, 20.0)]
    got = estimate_focal(frames)
    assert got.focal_px is None and "disagree" in got.reason


def test_frames_without_lines_do_not_outvote_two_that_agree():
    """A frame whose lines are hidden says nothing about the focal: two agreeing frames are enough, one is not."""
    blank = np.full((720, 1280), 128, np.uint8)
    floors = [tiled_floor(1000.0, 35.0, 20.0), tiled_floor(1000.0, -30.0, 15.0)]
    got = estimate_focal([floors[0], blank, blank, floors[1], blank])
    assert got.focal_px == pytest.approx(1000.0, rel=0.03) and "2 of 5" in got.reason, got
    assert estimate_focal([floors[0], blank, blank]).focal_px is None


def test_sampler_stops_searching_once_most_frames_agree():
    """Three of five sampled frames agreeing settle the focal whatever the last two say, so the sampler leaves
    them unsearched (a third of a short clip's focal cost); frames that do not settle it are all searched, and
    a disagreeing frame keeps the search going."""
    from posebake.focal import FocalSampler

    blank = np.full((720, 1280), 128, np.uint8)
    agree = [tiled_floor(1000.0, 35.0, 20.0), tiled_floor(1000.0, -30.0, 15.0), tiled_floor(1000.0, 40.0, 25.0)]

    def run(frames: list[np.ndarray]):
        sampler = FocalSampler(list(range(len(frames))))
        for i, f in enumerate(frames):
            sampler.offer(i, f[None])
        return sampler.estimate()

    settled = run(agree + [blank, tiled_floor(1400.0, 35.0, 20.0)])
    assert len(settled.per_frame) == 3 and "2 more not needed" in settled.reason, settled
    assert settled.focal_px == pytest.approx(1000.0, rel=0.03)
    full = estimate_focal(agree + [blank, tiled_floor(1400.0, 35.0, 20.0)])
    assert full.per_frame[:3] == settled.per_frame and full.focal_px == pytest.approx(settled.focal_px, rel=0.01)
    mixed = run([agree[0], tiled_floor(1400.0, 35.0, 20.0), agree[1], blank, agree[2]])
    assert len(mixed.per_frame) == 5 and mixed.focal_px == pytest.approx(1000.0, rel=0.03), mixed


def test_blank_frames_give_no_focal():
    got = estimate_focal([np.full((360, 640), 128, np.uint8)] * 3)
    assert got.focal_px is None and got.per_frame == [None, None, None]


@pytest.mark.parametrize("clip,expected", [("hop_elevated", True), ("walk_far", True), ("walk_side", False),
                                           ("run_three_quarter", False)])
def test_rendered_clips(clip, expected):
    """Bricks seen from above and a far checkered floor give the focal within 6 %; a camera looking
    straight along the checkers, or a floor without lines, fall back to the default."""
    true_f = float(np.load(CLIPS / f"{clip}_gt.npz")["K"][0, 0])
    got = estimate_focal_from_video(CLIPS / f"{clip}.mp4")
    if expected:
        assert got.focal_px == pytest.approx(true_f, rel=0.06), got.reason
    else:
        assert got.focal_px is None, got


@pytest.mark.parametrize("view,rel", [("cam04", 0.03), ("cam01", 0.05)])
def test_real_footage_against_its_calibration(videos, view, rel):
    """The Pose2Sim lab clip (lab floor and walls, Qualisys-calibrated). cam04 sees the lines in every sampled
    frame; in cam01 only 2 of 5 sampled frames give a well-conditioned pair, and those two decide."""
    sys.path.insert(0, str(REPO / "bench"))
    from multiview_root import read_qualisys

    folder = videos / "pose2sim_single_person_4cams"
    cam = {c.name: c for c in read_qualisys(folder / "Calib.qca.txt")}[view]
    got = estimate_focal_from_video(folder / f"{view}.mp4")
    assert got.focal_px == pytest.approx(float(cam.K[0, 0]), rel=rel), got.reason


def test_estimate_cli_writes_an_estimated_K(model_files, tmp_path):
    out = tmp_path / "hop.npz"
    res = subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(CLIPS / "hop_elevated.mp4"), "-o",
                          str(out), "--end", "12", "--smooth", "none", "--quiet"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "K from estimated" in res.stdout
    from posebake_core.motion import Motion

    m = Motion.load(out)
    true_f = float(np.load(CLIPS / "hop_elevated_gt.npz")["K"][0, 0])
    assert m.K_source == "estimated" and m.K[0, 0] == pytest.approx(true_f, rel=0.03)
    res = subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(CLIPS / "hop_elevated.mp4"), "-o",
                          str(out), "--end", "12", "--smooth", "none", "--quiet", "--no-focal-estimate"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert Motion.load(out).K_source == "default"


def test_short_clips_sample_fewer_frames():
    """Five frames spread over up to 300; never closer than SAMPLE_GAP where the clip is long enough for
    three, and never fewer than three (a single frame never decides)."""
    from posebake.focal import sample_frames

    assert sample_frames(0, None, 40) == [0, 20, 39]
    assert len(sample_frames(0, None, 60)) == 4 and len(sample_frames(0, None, 180)) == 5
    assert sample_frames(0, None, 1000)[-1] == 299
    assert sample_frames(10, 30, 100) == [10, 20, 29]
    assert sample_frames(0, None, 100, count=2) == [0, 99]


def test_line_search_started_frame_by_frame_gives_the_same_focal():
    """The estimate starts each sampled frame's search as it is decoded (a one-worker pool); each frame has its
    own random draws and the searches run in frame order, so the focal and the per-frame values are those of
    one search at the end."""
    from concurrent.futures import ThreadPoolExecutor

    from posebake.decode import VideoDecoder
    from posebake.focal import FocalSampler, sample_frames

    path = CLIPS / "hop_elevated.mp4"
    decoder = VideoDecoder(path)
    wanted = sample_frames(0, None, decoder.info.frame_count)
    with ThreadPoolExecutor(max_workers=1) as pool:
        sampler = FocalSampler(wanted, pool)
        for first, batch in decoder.batches(8, 0, max(wanted) + 1):
            sampler.offer(first, batch)
        early = sampler.estimate()
    late = estimate_focal_from_video(path)
    assert early.focal_px is not None and early.focal_px == late.focal_px and early.per_frame == late.per_frame
