"""Ground-truth clips and evaluation metrics.

The key checks: the committed GT joints, projected with the committed K and camera pose, land on the
character in the committed video and in its silhouette mask; and a fresh (tiny, one-sample) render of a
committed spec reproduces the same GT and the same normalised projections. bpy runs in a subprocess
under `timeout` because pip bpy can hang at exit.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posebake_dev.eval import joints as ej
from posebake_dev.eval import metrics as em
from posebake.paths import repo_root, shared_data

GT_DIR = repo_root() / "bench" / "groundtruth"
CLIPS = GT_DIR / "clips"
sys.path.insert(0, str(GT_DIR))
import gtio  # noqa: E402
import make_set  # noqa: E402

CLIP_NAMES = sorted(p.name[: -len("_gt.npz")] for p in CLIPS.glob("*_gt.npz"))


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


# ---------------------------------------------------------------- metrics on synthetic cases

def _pose(T: int = 20, J: int = 12) -> np.ndarray:
    return _rng().normal(0, 0.3, (T, J, 3)) + [0, 0, 4.0]


def _rotation(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def test_pa_mpjpe_ignores_similarity_transforms() -> None:
    gt = _pose()
    pred = 1.3 * gt @ _rotation(37).T + [0.2, -0.1, 0.5]
    assert em.pa_mpjpe(pred, gt) < 1e-6
    assert em.mpjpe(pred, gt, pred[:, 0], gt[:, 0]) > 10  # but the pose error does see it


def test_mpjpe_constant_offset() -> None:
    gt = _pose()
    pred = gt.copy()
    pred[:, 3] += [0.03, 0.0, 0.04]  # one joint off by 5 cm
    root = np.zeros((len(gt), 3))
    assert em.mpjpe(pred, gt, root, root) == pytest.approx(50.0 / gt.shape[1])
    shifted = gt + [0.1, 0.2, 0.3]  # the whole body moved: no root-relative error
    assert em.mpjpe(shifted, gt, shifted[:, 0], gt[:, 0]) == pytest.approx(0.0, abs=1e-9)
    mm, pct = em.root_error(shifted[:, 0], gt[:, 0])
    assert mm == pytest.approx(np.linalg.norm([100, 200, 300]))
    assert pct == pytest.approx(np.mean(np.linalg.norm([0.1, 0.2, 0.3]) / np.linalg.norm(gt[:, 0], axis=1)) * 100)


def test_nan_frames_are_excluded_and_counted() -> None:
    gt = _pose()
    pred = gt.copy()
    pred[:, 0] += [0.012, 0, 0]
    pred[5:10] = np.nan
    pred[12, 4] = np.nan
    assert em.detection_rate(pred) == pytest.approx(14 / 20)
    root = np.zeros((20, 3))
    assert em.mpjpe(pred, gt, root, root) == pytest.approx(12.0 / 12)
    assert np.isfinite(em.pa_mpjpe(pred, gt))
    assert np.isnan(em.mpjpe(np.full_like(gt, np.nan), gt, root, root))


def test_acceleration_error() -> None:
    t = np.arange(30, dtype=float)
    gt = np.zeros((30, 2, 3))
    gt[:, 1, 0] = 0.01 * t  # constant velocity: zero acceleration
    root = np.zeros((30, 3))
    assert em.accel_error(gt.copy(), gt, root, root) == pytest.approx(0.0)
    pred = gt.copy()
    pred[:, 1, 1] = 0.001 * t ** 2 / 2  # constant 1 mm/frame² extra acceleration on one of two joints
    assert em.accel_error(pred, gt, root, root) == pytest.approx(0.5)
    pred[15] = np.nan  # frames 14..16 lose their second difference
    assert em.accel_error(pred, gt, root, root) == pytest.approx(0.5)


def test_bone_length_cv() -> None:
    gt = _pose()
    bones = ((0, 1), (2, 3))
    rigid = gt[:1].repeat(20, 0) @ _rotation(10).T
    assert em.bone_length_cv(rigid, bones) == pytest.approx(0.0, abs=1e-12)
    stretch = rigid.copy()
    stretch[:, 1] = stretch[:, 0] + (stretch[:, 1] - stretch[:, 0]) * np.where(np.arange(20) % 2, 1.1, 0.9)[:, None]
    assert em.bone_length_cv(stretch, bones) == pytest.approx(0.1 / 2)


def test_foot_skate() -> None:
    T, fps = 40, 30.0
    up = np.array([0.0, -1.0, 0.0])  # OpenCV camera: y down
    feet = np.zeros((T, 2, 3))
    feet[:, 0] = [0.0, 1.5, 4.0]  # planted
    feet[:, 1] = [0.3, 1.5, 4.0]
    feet[:, 1, 1] -= 0.2 * np.abs(np.sin(np.arange(T) / 3))  # swinging foot, mostly off the ground
    assert em.contact_frames(feet, up, fps)[:, 0].all()
    assert em.foot_skate(feet, feet, up, fps) == pytest.approx(0.0, abs=1e-9)
    slide = feet.copy()
    slide[:, 0, 0] += 0.01 * np.arange(T)  # 1 cm/frame horizontal slide
    slide[:, 0, 1] += 0.002 * np.arange(T)  # vertical motion is not skate
    assert em.foot_skate(slide, feet, up, fps) == pytest.approx(1.0, rel=0.05)


# ---------------------------------------------------------------- committed clips

def test_committed_set_is_complete_and_small() -> None:
    assert {s["name"] for s in make_set.SPECS} <= set(CLIP_NAMES)
    total = sum(p.stat().st_size for p in CLIPS.iterdir())
    assert total < 8.5e6, total
    sizes = {tuple(gtio.load_gt(CLIPS / f"{n}_gt.npz")["image_size"]) for n in CLIP_NAMES}
    assert {(640, 480), (1280, 720)} <= sizes


def _check_clip(gt: dict, frames: np.ndarray, mask: np.ndarray, min_on_mask: float = 0.99) -> np.ndarray:
    """Structural checks and joints-on-character checks; returns the projected joints.

    With 0.99 on a 640x480 clip, shifting the projections by 6 px already fails (measured).
    """
    T = len(gt["joints_cam"])
    w, h = (int(v) for v in gt["image_size"])
    assert frames.shape == (T, h, w, 3) and mask.shape == (T, h, w)
    assert str(gt["schema"]) == "posebake.groundtruth/1" and float(gt["fps"]) == 30.0
    R, t = gt["cam_R"], gt["cam_t"]
    assert np.allclose(R @ np.swapaxes(R, 1, 2), np.eye(3), atol=1e-5)
    world_to_cam = np.einsum("tij,tnj->tni", R, gt["joints_world"]) + t[:, None]
    assert np.allclose(world_to_cam, gt["joints_cam"], atol=1e-4)
    K = gt["K"]
    assert K[0, 0] == pytest.approx(float(gt["lens_mm"]) / 36.0 * w) and K[0, 2] == pytest.approx((w - 1) / 2)
    assert 1.4 < float(gt["subject_height"]) < 1.9
    # rigid skeleton: every GT bone keeps its length
    names = [str(n) for n in gt["joint_names"]]
    for a, b in (("LeftUpLeg", "LeftLeg"), ("RightArm", "RightForeArm"), ("LeftLeg", "LeftFoot")):
        length = np.linalg.norm(gt["joints_world"][:, names.index(a)] - gt["joints_world"][:, names.index(b)], axis=1)
        assert np.ptp(length) < 1e-4
    # the soles touch the ground (z = 0) at some point and never go far below it
    sites = [str(n) for n in gt["site_names"]]
    heels = gt["sites_world"][:, [sites.index("left_heel"), sites.index("right_heel")], 2]
    assert -0.02 < heels.min() < 0.05
    assert np.all(gt["joints_cam"][..., 2] > 0.5)  # in front of the camera
    uv = gtio.project_gt(gt)
    ui, vi = np.round(uv[..., 0]).astype(int), np.round(uv[..., 1]).astype(int)
    inside = (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
    assert inside.mean() > 0.97
    tt = np.broadcast_to(np.arange(T)[:, None], ui.shape)
    on_mask = mask[tt[inside], vi[inside], ui[inside]]
    assert on_mask.mean() > min_on_mask, on_mask.mean()
    # a person-sized silhouette in every frame (the video-vs-mask check is in the per-clip test)
    area = mask.reshape(T, -1).mean(1)
    assert np.all(area > 0.001) and np.all(area < 0.5)
    return uv


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_committed_clip_gt_lands_on_character(name: str) -> None:
    gt = gtio.load_gt(CLIPS / f"{name}_gt.npz")
    frames = gtio.read_frames(CLIPS / f"{name}.mp4")
    mask = gtio.load_mask(CLIPS / f"{name}_mask.npz")
    uv = _check_clip(gt, frames, mask)
    # Video evidence independent of the mask: the character's pixels differ from the background.
    # Per pixel, the background is the median over frames where the mask says the character is absent.
    T = len(frames)
    if np.ptp(gt["cam_t"], axis=0).max() < 1e-6:  # static camera only
        step = max(1, frames.shape[2] // 320)  # a quarter-VGA grid is plenty and keeps this fast
        colour = frames[:, ::step, ::step].astype(np.float32)
        small = mask[:, ::step, ::step]
        bg = np.where(small[..., None], np.nan, colour)
        with np.errstate(all="ignore"):
            plate = np.nanmedian(bg, axis=0)
        diff = np.abs(colour - plate).max(-1)  # colour, not grey: clothes may match the ground's brightness
        seen = np.isfinite(plate[..., 0])[None]
        fg, rest = diff[small & seen], diff[~small & seen]
        assert np.median(fg) > 4 * max(np.median(rest), 1.0)
        # and projected joints sit on pixels that differ from the background plate
        ui = np.clip(np.round(uv[..., 0] / step).astype(int), 0, diff.shape[2] - 1)
        vi = np.clip(np.round(uv[..., 1] / step).astype(int), 0, diff.shape[1] - 1)
        tt = np.broadcast_to(np.arange(T)[:, None], ui.shape)
        d = diff[tt, vi, ui]
        known = np.isfinite(d)
        assert np.mean(d[known] > 8) > 0.95


def test_eval_joints_exist_in_gt() -> None:
    gt = gtio.load_gt(CLIPS / f"{CLIP_NAMES[0]}_gt.npz")
    j = ej.gt_joints(gt)
    assert j.shape == (len(gt["joints_cam"]), len(ej.EVAL_JOINTS), 3)
    # GT against itself: all errors zero, all frames detected
    root = ej.mid_hip(j)
    assert em.mpjpe(j, j, root, root) == 0 and em.detection_rate(j) == 1.0
    assert em.bone_length_cv(j, ej.EVAL_BONES) < 1e-4
    feet = j[:, list(ej.FEET)]
    contact = em.contact_frames(feet, ej.gt_up(gt), float(gt["fps"]))
    assert contact.any()
    assert em.foot_skate(feet, feet, ej.gt_up(gt), float(gt["fps"])) < 0.5  # GT feet barely slide


# ---------------------------------------------------------------- fresh render

def _render(spec: dict, out: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    cmd = make_set.command(spec, out)
    return subprocess.run(["timeout", str(timeout), *cmd], capture_output=True, text=True)


@pytest.mark.bpy
def test_fresh_render_reproduces_committed_gt(tmp_path) -> None:
    spec = dict(next(s for s in make_set.SPECS if s["name"] == "walk_side"), size="128x96", samples=1)
    proc = _render(spec, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    fresh = gtio.load_gt(tmp_path / "walk_side_gt.npz")
    ref = gtio.load_gt(CLIPS / "walk_side_gt.npz")
    assert np.allclose(fresh["joints_world"], ref["joints_world"], atol=1e-4)
    assert np.allclose(fresh["cam_R"], ref["cam_R"], atol=1e-6)
    # same camera at another resolution: normalised projections ((u + 0.5) / W) agree
    norm = lambda g: (gtio.project_gt(g) + 0.5) / g["image_size"]  # noqa: E731
    assert np.abs(norm(fresh) - norm(ref)).max() < 1e-4
    # at 128x96 limbs are a pixel or two wide, so allow a little more off-silhouette rounding
    uv = _check_clip(fresh, gtio.read_frames(tmp_path / "walk_side.mp4"),
                     gtio.load_mask(tmp_path / "walk_side_mask.npz"), min_on_mask=0.97)
    assert uv.shape[:2] == fresh["joints_cam"].shape[:2]


@pytest.mark.bpy
def test_render_rejects_bad_input_cleanly(tmp_path) -> None:
    spec = dict(make_set.SPECS[0], size="64x48", start=100.0)
    proc = _render(spec, tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "error:" in proc.stderr and "cannot take" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    proc = _render(dict(spec, motion="mocap_bvh/nope.bvh", start=0.0), tmp_path, timeout=60)
    assert proc.returncode == 1 and "motion file not found" in proc.stderr
    assert shared_data().is_dir()
