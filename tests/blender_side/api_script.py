"""A pipeline engineer's bpy script, as the Python API issue describes: open a shot, bake onto its character.

The shot (`make_shot`) holds a real character from ../shared/data/characters next to a cube with its own
animation and a light. `user_script` opens it, bakes a Motion file with `api.bake`, checks what a user
would, then makes the mistakes a user makes (unknown preset, missing file, a bad frame range) and checks
that each raises a clear `BakeError` and leaves the scene exactly as it was.
"""
from __future__ import annotations

import math


def make_shot(character: str, out: str) -> dict:
    """Save a .blend: the character (a glTF import), a keyed cube and a light."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=character)
    bpy.ops.mesh.primitive_cube_add(location=(3.0, 0.0, 0.5))
    cube = bpy.context.active_object
    cube.name = "Prop"
    cube.keyframe_insert("location", frame=1)
    cube.location.x = 5.0
    cube.keyframe_insert("location", frame=20)
    light = bpy.data.objects.new("Key", bpy.data.lights.new("Key", "SUN"))
    bpy.context.scene.collection.objects.link(light)
    bpy.ops.wm.save_as_mainfile(filepath=out)
    return {"armatures": [o.name for o in bpy.data.objects if o.type == "ARMATURE"]}


def scene_state() -> dict:
    """Everything a failed bake must not change, as plain data."""
    import bpy

    sc = bpy.context.scene
    objs = {}
    for o in bpy.data.objects:
        ad = o.animation_data
        objs[o.name] = {"matrix": [round(v, 6) for row in o.matrix_world for v in row],
                        "action": ad.action.name if ad and ad.action else None}
        if o.type == "ARMATURE":
            objs[o.name]["modes"] = {pb.name: pb.rotation_mode for pb in o.pose.bones}
    return {"objects": objs, "actions": sorted(a.name for a in bpy.data.actions),
            "cameras": sorted(c.name for c in bpy.data.cameras), "clips": sorted(c.name for c in bpy.data.movieclips),
            "frame_end": sc.frame_end, "fps": [sc.render.fps, sc.render.fps_base],
            "camera": sc.camera.name if sc.camera else None,
            "resolution": [sc.render.resolution_x, sc.render.resolution_y]}


def _fcurve_values(action) -> list[list[float]]:
    import numpy as np

    from tests.blender_side.fcurves import action_fcurves

    out = []
    for fc in action_fcurves(action):
        a = np.zeros(2 * len(fc.keyframe_points))
        fc.keyframe_points.foreach_get("co", a)
        out.append(a.reshape(-1, 2))
    return out


def user_script(shot: str, motion: str) -> dict:
    import bpy
    import numpy as np

    from posebake_blender import api

    bpy.ops.wm.open_mainfile(filepath=shot)
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    out: dict = {"api_version": api.API_VERSION, "presets": api.list_presets()}
    report = api.check(rig)
    out["check"] = {"ok": report.ok, "preset": report.preset, "missing": report.missing,
                    "pelvis": report.mapping.get("pelvis")}

    # mistakes first: each must raise a clear error and leave the scene as it was
    before = scene_state()
    errors = {}
    for label, call in (
            ("bad_preset", lambda: api.bake(rig, motion, preset="no_such_rig")),
            ("missing_file", lambda: api.bake(rig, motion + ".missing.npz")),
            ("bad_range", lambda: api.bake(rig, motion, frame_start=5000, frame_end=5010)),
            ("bad_track", lambda: api.bake(rig, motion, track=7)),
            ("not_an_armature", lambda: api.bake("Prop", motion))):
        try:
            call()
            errors[label] = None
        except api.BakeError as exc:
            errors[label] = str(exc)
        errors[label + "_unchanged"] = scene_state() == before
    out["errors"] = errors

    prop_before = scene_state()["objects"]["Prop"]
    res = api.bake(rig, motion, camera=True)
    values = _fcurve_values(res.action)
    keys = np.concatenate(values)
    out["bake"] = {"action": res.action.name, "assigned": rig.animation_data.action == res.action,
                   "frame_range": list(res.frame_range), "fcurves": len(values),
                   "finite": bool(np.isfinite(keys).all()),
                   "camera": res.camera.name if res.camera else None, "motion_path": res.motion_path,
                   "key_frames": [float(keys[:, 0].min()), float(keys[:, 0].max())]}
    after = scene_state()
    out["prop_untouched"] = after["objects"]["Prop"] == prop_before
    out["light_untouched"] = after["objects"]["Key"] == before["objects"]["Key"]
    moved = []
    for f in (int(res.frame_range[0]), int(math.floor(res.frame_range[1]))):
        bpy.context.scene.frame_set(f)
        moved.append([round(v, 4) for v in rig.pose.bones[report.mapping["pelvis"][0]].matrix.translation])
    out["hips_moved"] = moved[0] != moved[1]
    return out


def guard_undoes_a_late_failure(shot: str, motion: str) -> dict:
    """A bake that fails after it touched the scene (here: the step after the camera raises) is undone."""
    import bpy

    from posebake_blender.blender import apply
    from posebake_core.retarget.prepare import BakeOptions

    bpy.ops.wm.open_mainfile(filepath=shot)
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    before = scene_state()
    real = apply.create_camera

    def camera_then_fail(*args, **kwargs):  # the real camera is made, then the step fails
        real(*args, **kwargs)
        raise RuntimeError("disk full while linking the clip")

    apply.create_camera = camera_then_fail
    try:
        apply.bake_motion(rig, motion, BakeOptions(), camera=True, set_scene_fps=True)
        raised = None
    except RuntimeError as exc:
        raised = str(exc)
    finally:
        apply.create_camera = real
    return {"raised": raised, "unchanged": scene_state() == before, "before": before, "after": scene_state()}


def operator_script(shot: str, motion: str) -> dict:
    """The same through `bpy.ops.posebake.bake_file('EXEC_DEFAULT', ...)`, the add-on registered."""
    import bpy

    import posebake_blender

    posebake_blender.register()
    bpy.ops.wm.open_mainfile(filepath=shot)
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    before = scene_state()
    try:
        bpy.ops.posebake.bake_file("EXEC_DEFAULT", filepath=motion, armature=rig.name, preset="no_such_rig")
        bad = None
    except RuntimeError as exc:
        bad = str(exc)
    unchanged = scene_state() == before
    result = bpy.ops.posebake.bake_file("EXEC_DEFAULT", filepath=motion, armature=rig.name)
    act = rig.animation_data.action if rig.animation_data else None
    return {"bad": bad, "unchanged": unchanged, "result": sorted(result), "action": act.name if act else None}


def signatures() -> dict:
    """The public API's functions and their parameters, as `inspect` renders them."""
    import inspect

    from posebake_blender import api

    return {"version": api.API_VERSION,
            "functions": {n: str(inspect.signature(getattr(api, n))) for n in api.__all__
                          if inspect.isfunction(getattr(api, n))}}


def video_script(shot: str, video: str, python: str, dest: str) -> dict:
    """`api.bake` on a video: the estimate runs through a subprocess backend while the call blocks."""
    import bpy

    from posebake_blender import api

    bpy.ops.wm.open_mainfile(filepath=shot)
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    seen: list[tuple[str, float]] = []
    res = api.bake(rig, video, frame_start=0, frame_end=20, backend=api.Backend(mode="subprocess", python=python),
                   motion_out=dest, progress=lambda stage, f: seen.append((stage, round(f, 3))))
    before = scene_state()
    try:
        api.bake(rig, video, backend=api.Backend(mode="subprocess", python=python + ".missing"))
        missing_python = None
    except api.BakeError as exc:
        missing_python = str(exc)
    return {"action": res.action.name, "frame_range": list(res.frame_range), "motion_path": res.motion_path,
            "stages": sorted({s for s, _ in seen}), "last": seen[-1] if seen else None,
            "missing_python": missing_python, "unchanged": scene_state() == before}
