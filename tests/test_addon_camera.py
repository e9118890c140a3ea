"""Issue 8 in the panel: "Camera from video", "Subject height (m)" and "Focal (px)".

One bpy child (pip bpy, the real add-on registered, unregistered before it ends) bakes a small synthetic
Motion .npz through the Bake operator with the camera option off, then on; then runs the finished-job path
(`poll_step` -> `_finish_bake`) through a real `SubprocessJob` whose "backend Python" is a stand-in script
that records its command line and writes the Motion to where it is told. So the test sees exactly which
estimate options reach the backend, without spending a minute of CPU on a real estimate. The pure parts
(`estimate_command`, `estimate_options`) are also checked in this interpreter.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from posebake_core.motion import Motion
from tests.bpychild import run_blender
from tests.test_bvh_export import synthetic_track

REPO = Path(__file__).resolve().parents[1]
SIZE = (1280, 720)  # not Blender's default 1920 x 1080, so the render size check can fail
FPS = 25.0

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

FAKE_PYTHON = r'''#!/bin/sh
# stand-in for the backend's python: `python -m posebake.cli estimate VIDEO -o DEST [options]`
printf '%s\n' "$@" > "$(dirname "$0")/argv_$(date +%s%N).txt"
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then cp "$(dirname "$0")/motion.npz" "$2"; fi
  shift
done
echo "estimate: 100%|###| 5/5 [00:01<00:00]"
'''



def small_motion(path: Path) -> Motion:
    """The BVH-export test's synthetic walker (30 frames, absent frames included) at 1280 x 720, 25 fps."""
    cam = synthetic_track(seed=3)[None]
    K = np.array([[900.0, 0, SIZE[0] / 2], [0, 900.0, SIZE[1] / 2], [0, 0, 1]])
    m = Motion(joints_cam=cam, joints_2d=np.zeros(cam.shape[:3] + (2,)),
               visibility=np.where(np.isfinite(cam).all(axis=-1), 1.0, 0.0), fps=FPS, K=K, image_size=SIZE)
    m.save(path)
    return m


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("addoncam")
    small_motion(d / "motion.npz")
    (d / "clip.mp4").write_bytes(b"not decoded: the stand-in backend never reads it")
    fake = d / "fake_python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    r = run_blender(d, "addon_camera", "main", "camera", str(REPO), str(d), timeout=300, cwd=d,
                    env={**os.environ, "TMPDIR": str(d)})
    print(json.dumps(r, indent=1))
    return r


def test_panel_shows_the_new_options_off_by_default(res: dict) -> None:
    assert res["panel"][-4:] == ["camera_from_video", "preview_over_video", "subject_height", "focal_px"]
    assert res["defaults"] == [False, 0.0, 0.0]
    assert res["unregistered"]


def test_npz_bake_without_the_option_adds_no_camera(res: dict) -> None:
    r = res["npz_off"]
    assert r["op"]["result"] == ["FINISHED"], r
    assert r["objects"] == [] and r["scene_camera"] is None
    assert "camera" not in r["message"]


def test_npz_bake_with_the_option_adds_the_scene_camera_at_video_size(res: dict) -> None:
    r = res["npz_on"]
    assert r["op"]["result"] == ["FINISHED"], r
    assert len(r["objects"]) == 1 and r["scene_camera"] == r["objects"][0]
    assert r["resolution"] == [SIZE[0], SIZE[1], 100]
    assert abs(r["fps"] - FPS) < 1e-6
    assert abs(r["lens"] - 900.0 * 36.0 / SIZE[0]) < 1e-3
    assert f"camera '{r['scene_camera']}'" in r["message"]


def test_finished_job_bakes_the_camera_and_gets_height_and_focal(res: dict) -> None:
    r = res["job_set"]
    assert r["op"]["result"] == ["FINISHED"] and r["status"] == "DONE", r
    argv = r["argv"]
    assert argv[:3] == ["-m", "posebake.cli", "estimate"]
    assert argv[argv.index("--subject-height") + 1] == "1.72"
    assert argv[argv.index("--focal") + 1] == "1400.0"
    assert "--fov" not in argv
    assert r["motion_path"].endswith("clip_h1.72m_f1400px.npz")
    # the re-bake replaced the camera the first bake made for this rig (object and data), no pile-up
    assert len(r["objects"]) == 1 and r["scene_camera"] == r["objects"][0] and r["camera_data"] == 1
    assert r["resolution"][:2] == list(SIZE)
    assert "camera '" in r["message"]


def test_unset_height_and_focal_are_not_sent_and_camera_off(res: dict) -> None:
    r = res["job_unset"]
    assert r["status"] == "DONE", r
    assert "--subject-height" not in r["argv"] and "--focal" not in r["argv"]
    assert r["motion_path"].endswith("clip.npz")  # another file than the estimate with a known height
    assert len(r["objects"]) == 1 and "camera" not in r["message"]  # option off: the camera is left alone


def test_height_below_any_person_is_refused(res: dict) -> None:
    r = res["too_small"]
    assert r["result"] == ["CANCELLED"]
    assert "subject height is in metres" in r["error"] and "set 0" in r["message"]


def test_estimate_command_and_options_send_only_what_is_set() -> None:
    sys.path.insert(0, str(REPO / "addon"))
    from posebake_blender.jobs import estimate_command

    base = ["py", "-m", "posebake.cli", "estimate", "v.mp4", "-o", "o.npz", "--events"]
    assert estimate_command("py", "v.mp4", "o.npz", {"start": None, "end": None}) == base
    cmd = estimate_command("py", "v.mp4", "o.npz", {"start": 0, "end": 8, "subject_height": 1.8, "focal": 1200.0})
    assert cmd == base + ["--focal", "1200.0", "--start", "0", "--end", "8", "--subject-height", "1.8"]
