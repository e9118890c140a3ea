"""`posebake batch --camera --subject-height`: every NAME.blend gets the video camera, and estimated videos
use the given height.

The folder holds one short real clip (estimated, 6 frames, to keep the CPU cost small) and one synthetic
Motion .npz (baked as is); a bpy child reopens each written .blend and reports its scene camera.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.bpychild import build_rig_blend, posebake, run_blender
from tests.test_addon_camera import small_motion

CLIP = "mmhuman3d_single_person_basketball.mp4"

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

def test_batch_camera_and_subject_height(tmp_path: Path, videos: Path, model_files: Path) -> None:
    build_rig_blend(tmp_path, "mixamo", tmp_path / "rig.blend", seed=1)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / CLIP).symlink_to(videos / CLIP)
    small_motion(src / "walker.npz")
    proc = posebake("batch", src, "--rig", tmp_path / "rig.blend", "-o", out, "--camera", "--subject-height",
                    "1.64", "--end", "6")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert "2 baked, 0 failed" in proc.stdout and proc.stdout.count(", camera PoseBake Camera") == 2, text
    stem = Path(CLIP).stem
    with np.load(out / f"{stem}.npz") as m:
        assert np.allclose(m["subject_height"], 1.64)  # the estimate was told the height
        size = [int(v) for v in m["image_size"]]
    res = run_blender(tmp_path, "saved_scene", "cameras", str(out / f"{stem}.blend"), str(out / "walker.blend"))
    clip, walker = res[f"{stem}.blend"], res["walker.blend"]
    for r in (clip, walker):
        assert r["cameras"] == ["PoseBake Camera"] and r["scene_camera"] == "PoseBake Camera", res
    assert clip["resolution"] == size and clip["background"] == ["MOVIE_CLIP"]
    assert walker["resolution"] == [1280, 720]


def test_batch_refuses_a_height_in_centimetres_at_once(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(b"x")
    (tmp_path / "rig.blend").write_bytes(b"x")
    proc = posebake("batch", tmp_path / "in", "--rig", tmp_path / "rig.blend", "-o", tmp_path / "out",
                    "--subject-height", "170", timeout=120)
    assert proc.returncode == 2 and "--subject-height is in metres" in proc.stderr, proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()
