"""The add-on inside pip bpy: register/unregister, the panel (drawn into a recording stand-in layout),
operator poll/execute, the polling timer step driven by hand (timers never fire in a background Blender)
with a real `posebake estimate` subprocess, and every bad input refused with a clear message and the
scene left as it was. Also the extension manifest and the zip built by addon/build.py.

All Blender work runs in ONE child process under `timeout` (pip bpy can hang at exit, hence `os._exit`);
the tests read the JSON it writes.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.bpychild import child_script, run_blender, run_script

REPO = Path(__file__).resolve().parents[1]
CLIP = "mmhuman3d_single_person_basketball.mp4"  # 40 frames; the jobs below use 8

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

CHILD = child_script(r'''
import json, os, sys, time, traceback
import numpy as np
REPO, VIDEO, TMP = sys.argv[2], sys.argv[3], sys.argv[4]
sys.path[:0] = [REPO + "/addon", REPO + "/tests"]


class Layout:
    """Stand-in for UILayout: records every call; sub-layouts share the log."""

    def __init__(self, log):
        self.__dict__["log"] = log
        self.__dict__["alert"] = False

    def __setattr__(self, name, value):
        self.log.append(("set", name, value))

    def __getattr__(self, name):
        def call(*args, **kw):
            self.log.append((name, [a for a in args if isinstance(a, (str, int, float))], kw))
            return Layout(self.log) if name in ("column", "row", "box", "split") else None
        return call


def draw():
    log = []
    ui.draw_panel(Layout(log), bpy.context)
    return {"props": [c[1][0] for c in log if c[0] == "prop"],
            "operators": [c[1][0] for c in log if c[0] == "operator"],
            "labels": [c[2].get("text", "") for c in log if c[0] == "label"],
            "progress": [c[2] for c in log if c[0] == "progress"],
            "alert": any(c[:3] == ("set", "alert", True) for c in log)}


def snapshot(rig):
    ad = rig.animation_data
    return {"actions": sorted(a.name for a in bpy.data.actions), "action": ad.action.name if ad and ad.action else None,
            "frame_end": bpy.context.scene.frame_end, "objects": len(bpy.data.objects)}


def op(name):
    """Run bpy.ops.posebake.<name>(); an ERROR report surfaces as RuntimeError in a background Blender."""
    try:
        return {"result": sorted(getattr(bpy.ops.posebake, name)()), "error": ""}
    except RuntimeError as exc:
        return {"result": ["CANCELLED"], "error": str(exc)}


def pump(limit=240.0, draw_at=None):
    """Call the timer callback by hand until it says there is nothing left to follow."""
    t0, seen, drawn = time.monotonic(), [], None
    while time.monotonic() - t0 < limit:
        nxt = ops.poll_step()
        s = bpy.context.scene.posebake
        seen.append((s.stage, round(s.progress, 3)))
        if nxt is None:
            return seen, drawn
        if draw_at is not None and drawn is None and s.progress > 0:
            drawn = draw()
        time.sleep(0.05)
    raise TimeoutError(f"job still running after {limit} s: {seen[-3:]}")


import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
import posebake_blender as pb
pb.register()
from posebake_blender import ops, props, ui
from posebake_blender.blender.apply import bake_motion
from posebake_blender.blender.bake import BakeError
from posebake_core.retarget.prepare import BakeOptions
import rigbuilder

out["registered"] = {"panel": hasattr(bpy.types, "VIEW3D_PT_posebake"), "scene_prop": hasattr(bpy.types.Scene, "posebake"),
                     "ops": [hasattr(bpy.ops.posebake, n) for n in ("bake", "cancel", "rebake", "start_backend")]}
scene = bpy.context.scene
s = scene.posebake
rig = rigbuilder.build_rig("mixamo", pose="A", seed=4)
mesh = bpy.data.objects.new("Box", bpy.data.meshes.new("Box"))
scene.collection.objects.link(mesh)
bpy.context.view_layer.objects.active = rig
out["preset_items"] = [i[0] for i in props.preset_items(s, bpy.context)]
out["idle_panel"] = draw()
out["poll_idle"] = {"bake": bpy.ops.posebake.bake.poll(), "cancel": bpy.ops.posebake.cancel.poll()}

# -- bad input: each refused at once, scene unchanged ------------------------------------------
def refused(key, setup):
    before = snapshot(rig)
    setup()
    r = op("bake")
    r["unchanged"] = snapshot(rig) == before
    r["panel_message"] = s.message
    r["panel"] = draw()
    out.setdefault("bad", {})[key] = r
    s.status, s.message = "IDLE", ""

refused("missing_video", lambda: setattr(s, "video_path", TMP + "/nowhere.mp4"))
s.video_path = VIDEO
def not_arm():
    s.armature = None
    bpy.context.view_layer.objects.active = mesh
refused("not_armature", not_arm)
bpy.context.view_layer.objects.active = rig
legless = rigbuilder.build_rig("mixamo", name="legless")
rigbuilder.remove_legs(legless)
refused("too_few_bones", lambda: setattr(s, "armature", legless))
s.armature = rig
try:
    s.preset = "no_such_rig"
    out["enum_unknown_preset"] = "accepted"
except TypeError as exc:
    out["enum_unknown_preset"] = str(exc)
for key, schema, T in (("other_schema", "someone.else/3", 5), ("empty_motion", "posebake.motion/1", 0)):
    p = f"{TMP}/{key}.npz"
    np.savez(p, schema=np.array(schema), joint_names=np.array([f"j{i}" for i in range(33)]), K=np.eye(3),
             image_size=np.array([640, 480]), track_ids=np.arange(1), joints_cam=np.zeros((1, T, 33, 3), np.float32),
             joints_2d=np.zeros((1, T, 33, 2), np.float32), visibility=np.zeros((1, T, 33), np.float32),
             subject_height=np.ones(1), fps=np.array(30.0), K_source=np.array("fov"), smoothing=np.array("none"),
             frame_start=np.array(0), source_video=np.array("x.mp4"))
    refused(key, lambda p=p: setattr(s, "video_path", p))
s.video_path = VIDEO
props.FALLBACK.mode, props.FALLBACK.python_path = "SUBPROCESS", TMP + "/no/python"
refused("no_backend_python", lambda: None)
s.use_frame_range, s.frame_start, s.frame_end = True, 8, 4
props.FALLBACK.python_path = sys.executable
refused("empty_range", lambda: None)

# -- a job that fails in the backend (not a video): the panel says why, scene unchanged -----------
bad_video = TMP + "/not_a_video.mp4"
with open(bad_video, "w") as fh:
    fh.write("this is text, not a video\n" * 100)
s.video_path, s.frame_start, s.frame_end = bad_video, 0, 8
before = snapshot(rig)
start = op("bake")
pump()
out["job_failed"] = {"start": start, "status": s.status, "message": s.message, "unchanged": snapshot(rig) == before,
                     "panel": draw()}

# -- cancel a running estimate -----------------------------------------------------------------
s.video_path, s.status = VIDEO, "IDLE"
before = snapshot(rig)
start = op("bake")
ops.poll_step()
out["cancel"] = {"start": start, "poll_cancel": bpy.ops.posebake.cancel.poll(), "op": op("cancel")}
pump(60)
out["cancel"].update(status=s.status, message=s.message, unchanged=snapshot(rig) == before)

# -- the real thing: posebake estimate (8 frames) in a subprocess, polled, then baked -------------
s.status = "IDLE"
start = op("bake")
out["run"] = {"start": start, "timer_registered": bpy.app.timers.is_registered(ops.poll_step),
              "poll_bake_while_running": bpy.ops.posebake.bake.poll(),
              "poll_cancel_while_running": bpy.ops.posebake.cancel.poll()}
seen, mid = pump(draw_at=True)
act = rig.animation_data.action if rig.animation_data else None
out["run"].update(status=s.status, message=s.message, stages=sorted({st for st, _ in seen}),
                  max_progress=max(p for _, p in seen), mid_panel=mid, motion_path=s.motion_path,
                  action=act.name if act else None, frame_end=scene.frame_end,
                  tracks=[i[0] for i in props.track_items(s, bpy.context)], done_panel=draw())
r = bake_motion(rig, s.motion_path, BakeOptions(), None)
out["run"]["frames"] = [float(x) for x in r.frame_range]

# -- the .npz itself as input (synchronous), and re-bake with other options ------------------------
s.video_path, s.use_frame_range, s.root_motion = s.motion_path, False, False
out["npz"] = op("bake")
out["npz"]["action"] = rig.animation_data.action.name
s.track = "0"
out["rebake"] = op("rebake")
try:
    bake_motion(rig, s.motion_path, BakeOptions(), "no_such_rig")
except BakeError as exc:
    out["unknown_preset_direct"] = str(exc)
try:
    bake_motion(rig, s.motion_path, BakeOptions(track=3), None)
except BakeError as exc:
    out["missing_person"] = str(exc)

# -- unregister leaves nothing behind; register again works ---------------------------------------
pb.unregister()
out["unregistered"] = {"panel": hasattr(bpy.types, "VIEW3D_PT_posebake"), "scene_prop": hasattr(bpy.types.Scene, "posebake")}
pb.register()
pb.unregister()
out["reregistered_ok"] = True
''')


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory, videos: Path, model_files: Path) -> dict:
    d = tmp_path_factory.mktemp("addon")
    r = run_script(d, CHILD, "child", ["x", str(REPO), str(videos / CLIP), str(d), str(d / "out.json")], d / "out.json", timeout=400,
                   cwd=d)
    print(json.dumps(r, indent=1))
    return r


def test_register_and_unregister(res: dict) -> None:
    assert res["registered"] == {"panel": True, "scene_prop": True, "ops": [True] * 4}
    assert res["unregistered"] == {"panel": False, "scene_prop": False}
    assert res["reregistered_ok"]


def test_panel_draws_every_control(res: dict) -> None:
    p = res["idle_panel"]
    assert p["props"] == ["video_path", "armature", "preset", "track", "smoothing", "root_motion", "foot_lock",
                          "scale_to_rig", "use_frame_range", "camera_from_video", "subject_height", "focal_px"]
    assert p["operators"] == ["posebake.bake"]
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
    assert mid is not None and mid["progress"] and mid["operators"] == ["posebake.cancel"]
    assert r["done_panel"]["operators"] == ["posebake.bake", "posebake.rebake"]
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
    z = build.build(tmp_path, copy_to_tree=False)
    assert z.name == f"posebake_blender-{manifest['version']}.zip"
    names = zipfile.ZipFile(z).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names and "headless.py" in names
    assert {f"rigs_data/{p.name}" for p in (REPO / "rigs").glob("*.json")} <= set(names)
    assert not any("__pycache__" in n for n in names)

    wheels = [n for n in names if n.startswith("wheels/posebake_core-") and n.endswith("-py3-none-any.whl")]
    assert len(wheels) == 1, names
    zipped = tomllib.loads(zipfile.ZipFile(z).read("blender_manifest.toml").decode())
    assert zipped["wheels"] == [f"./{wheels[0]}"] and zipped["version"] == manifest["version"]

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
        "prefs": "PoseBakePreferences", "schema": "posebake.motion/1"}, got
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
