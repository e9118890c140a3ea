"""The add-on inside pip bpy: register/unregister, the panel (drawn into a recording stand-in layout),
operator poll/execute, the polling timer step driven by hand (timers never fire in a background Blender)
with a real `posebake estimate` subprocess, and every bad input refused with a clear message and the
scene left as it was. Also the extension manifest and the zip built by addon/build.py.

All Blender work runs in ONE child process (tests/blender_side/addon_panel.py, through the one child
runner); the tests read the dict it returns.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.bpychild import run_blender

REPO = Path(__file__).resolve().parents[1]
CLIP = "mmhuman3d_single_person_basketball.mp4"  # 40 frames; the jobs below use 8

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy



@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory, videos: Path, model_files: Path) -> dict:
    d = tmp_path_factory.mktemp("addon")
    r = run_blender(d, "addon_panel", "main", "x", str(REPO), str(videos / CLIP), str(d), timeout=400, cwd=d)
    print(json.dumps(r, indent=1))
    return r


def test_register_and_unregister(res: dict) -> None:
    assert res["registered"] == {"panel": True, "scene_prop": True, "ops": [True] * 4}
    assert res["unregistered"] == {"panel": False, "scene_prop": False}
    assert res["reregistered_ok"]


def test_panel_draws_every_control(res: dict) -> None:
    p = res["idle_panel"]
    assert p["props"] == ["video_path", "armature", "preset", "track", "smoothing", "root_motion", "foot_lock",
                          "contact_height", "fingers", "scale_to_rig", "use_frame_range", "camera_from_video",
                          "preview_over_video", "subject_height", "focal_px"]
    assert p["operators"] == ["posebake.map_load", "posebake.bake"]
    assert "Detected: mixamo" in p["labels"]  # auto-detected preset shown
    assert res["preset_items"][0] == "AUTO" and "mixamo" in res["preset_items"]
    assert res["poll_idle"] == {"bake": True, "cancel": False}


@pytest.mark.parametrize("case,want", [
    ("missing_video", "video not found"), ("not_armature", "'Box' is not an armature (it is MESH)"),
    ("too_few_bones", "too few mappable bones"), ("other_schema", "has schema 'someone.else/3'"),
    ("empty_motion", "empty motion"), ("no_backend_python", "does not exist: set it in the PoseBake add-on"),
    ("empty_range", "must be after its start")])
def test_bad_input_reported_and_scene_untouched(res: dict, case: str, want: str) -> None:
    r = res["bad"][case]
    assert r["result"] == ["CANCELLED"]
    assert want in r["error"]  # the operator's ERROR report
    assert want in r["panel_message"]  # and the panel's message box, in red
    assert r["panel"]["alert"] and want.split()[0] in " ".join(r["panel"]["labels"])
    assert r["unchanged"]
    if case == "too_few_bones":
        assert "thigh.L" in r["error"]


def test_unknown_preset_and_missing_person(res: dict) -> None:
    assert "no_such_rig" in res["enum_unknown_preset"] and res["enum_unknown_preset"] != "accepted"
    assert "unknown rig preset 'no_such_rig'" in res["unknown_preset_direct"]
    assert "person 3 does not exist" in res["missing_person"]


def test_failed_job_reported_in_panel(res: dict) -> None:
    j = res["job_failed"]
    assert j["start"]["result"] == ["FINISHED"]  # the job started...
    assert j["status"] == "ERROR" and "posebake estimate failed" in j["message"]  # ...and its failure reached the panel
    assert j["unchanged"] and j["panel"]["alert"]


def test_cancel_leaves_scene_untouched(res: dict) -> None:
    c = res["cancel"]
    assert c["poll_cancel"] and c["op"]["result"] == ["FINISHED"]
    assert c["status"] == "CANCELLED" and c["unchanged"]


def test_subprocess_estimate_polled_then_baked(res: dict) -> None:
    r = res["run"]
    assert r["start"]["result"] == ["FINISHED"] and r["timer_registered"]
    assert not r["poll_bake_while_running"] and r["poll_cancel_while_running"]
    assert r["status"] == "DONE", r["message"]
    assert r["action"] == "rig_mixamo_posebake" and "baked 8 frames" in r["message"]
    assert "landmarks" in r["stages"] and r["max_progress"] == 1.0
    mid = r["mid_panel"]
    assert mid is not None and mid["progress"] and mid["operators"] == ["posebake.map_load", "posebake.cancel"]
    assert r["done_panel"]["operators"] == ["posebake.map_load", "posebake.bake", "posebake.rebake"]
    assert r["tracks"] == ["0"]
    assert r["frames"][1] - r["frames"][0] == 14  # 8 frames of a 12 fps clip keyed at the scene's 24 fps
    assert res["npz"]["result"] == ["FINISHED"] and res["rebake"]["result"] == ["FINISHED"]


def test_manifest_and_extension_zip(tmp_path: Path) -> None:
    manifest = tomllib.loads((REPO / "addon" / "posebake_blender" / "blender_manifest.toml").read_text())
    assert manifest["schema_version"] == "1.0.0" and manifest["id"] == "posebake"
    assert manifest["blender_version_min"] == "4.2.0" and manifest["license"] == ["SPDX:Apache-2.0"]
    assert manifest["tagline"] and manifest["maintainer"] and set(manifest["permissions"]) == {"files", "network"}
    spec = importlib.util.spec_from_file_location("posebake_addon_build", REPO / "addon" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    z = build.build(tmp_path)
    assert z.name == f"posebake_blender-{manifest['version']}.zip"
    names = zipfile.ZipFile(z).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "headless.py" in names
    assert not any("__pycache__" in n for n in names)

    wheels = [n for n in names if n.startswith("wheels/posebake_core-") and n.endswith("-py3-none-any.whl")]
    assert len(wheels) == 1, names
    zipped = tomllib.loads(zipfile.ZipFile(z).read("blender_manifest.toml").decode())
    assert zipped["wheels"] == [f"./{wheels[0]}"] and zipped["version"] == manifest["version"]
    core_names = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(z).read(wheels[0]))).namelist()
    presets = {f"posebake_core/rigs/{p.name}" for p in (REPO / "core" / "posebake_core" / "rigs").glob("*.json")}
    assert len(presets) >= 8 and presets <= set(core_names), core_names  # the rig presets ride in the core

    # Blender itself installs and enables it (manifest validated), in a throwaway user folder, with the
    # development core hidden: the add-on can only import the core from the bundled wheel
    got = install_extension(tmp_path, z)
    assert got["core"].startswith(str(tmp_path / "user")), got["core"]


def install_extension(tmp_path: Path, z: Path, python: str | None = None) -> dict:
    """Install the zip with Blender's own installer in a child; check what it registered."""
    got = run_blender(tmp_path, "extension_install", "install", str(z), timeout=180, cwd=tmp_path, python=python,
                      env={**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "user")})
    assert got["core_before"] is False, "the development core was not hidden"
    assert {k: got[k] for k in ("install", "enabled", "panel", "prefs", "schema")} == {
        "install": ["FINISHED"], "enabled": ["bl_ext.user_default.posebake"], "panel": True,
        "prefs": "PoseBakePreferences", "schema": "posebake.motion/3"}, got
    # scripts import the installed extension by its stable name (`from posebake_blender import api`)
    assert got["api"] == "bl_ext.user_default.posebake.api" and got["bake_file_operator"], got
    return got


def test_prepare_options_pure_numpy() -> None:
    """Smoothing keeps constants and ends in place; in-place removes only horizontal drift; ranges clip."""
    import numpy as np

    sys.path.insert(0, str(REPO / "addon"))
    from posebake_core.retarget.canonical import CanonicalPose
    from posebake_core.retarget.prepare import PrepareError, in_place
    from posebake_core.timeseries import gaussian_smooth

    x = np.ones((20, 3))
    assert np.allclose(gaussian_smooth(x, 2.0), 1.0)
    ramp = np.linspace(0, 1, 30)[:, None]
    assert np.abs(gaussian_smooth(ramp, 1.5) - ramp)[5:-5].max() < 1e-9  # linear motion is not delayed
    t = np.arange(10.0)
    hips = np.stack([t, 2 * t, 0.9 + 0.1 * np.sin(t)], 1)
    c = in_place(CanonicalPose({"hips": hips, "head_top": hips + [0, 0, 0.8]}, 30.0))
    assert np.allclose(c.joints["hips"][:, :2], hips[0, :2]) and np.allclose(c.joints["hips"][:, 2], hips[:, 2])
    assert issubclass(PrepareError, ValueError)
