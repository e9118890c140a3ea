"""`posebake bake --camera`: the created camera sees the baked rig where the video shows the person.

A short real clip is baked onto a test rig with a video camera; a bpy child reopens the .blend and
projects the rig's hip, knee, ankle and shoulder bone heads through the scene camera
(`world_to_camera_view` at the scene's render size) and compares them with the Motion file's 2D
landmarks. The rig's joint centres are not the landmarks and its proportions are not the person's, so
the tolerance is a few percent of the image height; the same projection through a deliberately wrong
camera (doubled focal length, or shifted sideways) must be far worse, so the check can fail.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.bpychild import build_rig_blend, posebake, run_blender

RUNNER = "phalp_running_woman.mp4"  # the camera pans after her: exercises the keyed camera rotation
CLIP = "mmhuman3d_single_person_basketball.mp4"

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

# rig role -> BlazePose landmark whose position the role bone's head should sit on
ROLE_LANDMARK = {"thigh.L": 23, "thigh.R": 24, "shin.L": 25, "shin.R": 26, "foot.L": 27, "foot.R": 28,
                 "upper_arm.L": 11, "upper_arm.R": 12}
ROLES_JSON = json.dumps(list(ROLE_LANDMARK))


def _errors(uv: list, want: np.ndarray) -> np.ndarray:
    """Per-joint pixel distances between projected bone heads (F,J,3: u, v, depth) and landmarks (F,J,2)."""
    got = np.asarray(uv)[..., :2]
    err = np.linalg.norm(got - want, axis=-1)
    return err[np.isfinite(err)]


@pytest.fixture(scope="module")
def camera_bake(tmp_path_factory: pytest.TempPathFactory, videos: Path, model_files: Path) -> dict:
    d = tmp_path_factory.mktemp("bakecam")
    build_rig_blend(d, "mixamo", d / "rig.blend", seed=3)
    out = {}
    for flag in ("", "--no-scale-to-rig"):
        name = "scaled" if not flag else "unscaled"
        motion = d / "runner.npz"
        src = motion if motion.is_file() else videos / RUNNER
        proc = posebake("bake", src, "--rig", d / "rig.blend", "--start", "0", "--end", "30", "--camera",
                        *([flag] if flag else []), "-o", d / f"{name}.blend", "--motion-out", motion)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out[name] = run_blender(d, "saved_scene", "project_roles", str(d / f"{name}.blend"), ROLES_JSON)
    # a steady camera, baked in place with neither scaling: the camera slides with the removed drift
    proc = posebake("bake", videos / CLIP, "--rig", d / "rig.blend", "--start", "0", "--end", "12", "--camera",
                    "--no-root-motion", "--no-scale-to-rig", "-o", d / "inplace.blend")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out["inplace"] = run_blender(d, "saved_scene", "project_roles", str(d / "inplace.blend"), ROLES_JSON)
    out["motion"] = np.load(d / "runner.npz")
    out["motion_inplace"] = np.load(d / "inplace.npz")
    return out


@pytest.mark.parametrize("which", ["scaled", "unscaled", "inplace"])
def test_camera_sees_the_rig_where_the_video_shows_the_person(camera_bake: dict, which: str) -> None:
    res, m = camera_bake[which], camera_bake["motion_inplace" if which == "inplace" else "motion"]
    w, h = (int(v) for v in m["image_size"])
    assert res["size"] == [w, h]
    assert abs(res["fps"] - float(m["fps"])) < 1e-3
    assert res["sensor_fit"] == ("HORIZONTAL" if w >= h else "VERTICAL")
    assert abs(res["lens"] - float(m["K"][0, 0]) * 36.0 / max(w, h)) < 1e-3
    assert res["background"] == ["MOVIE_CLIP"] and res["clip"]
    if which != "inplace":
        assert res["animated"]  # the runner's camera pans: its rotation is keyed
    # the bake starts at the Motion's first frame (--start 0) on the scene's first frame
    idx = np.array(res["frames"]) - res["frame_start"]
    want = m["joints_2d"][0][idx][:, list(ROLE_LANDMARK.values())]
    assert np.all(np.asarray(res["good"])[..., 2] > 0)  # everything in front of the camera
    good = np.median(_errors(res["good"], want))
    long_lens = np.median(_errors(res["long_lens"], want))
    shifted = np.median(_errors(res["shifted"], want))
    print(f"{which}: median px error {good:.1f} (image h {h}), doubled focal {long_lens:.1f}, shifted {shifted:.1f}")
    assert good < 0.04 * h, (good, h)
    assert long_lens > 3 * good and long_lens > 0.06 * h, (long_lens, good)
    assert shifted > 3 * good and shifted > 0.06 * h, (shifted, good)
