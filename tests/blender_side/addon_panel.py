"""The add-on inside pip bpy: register, panel, operators, the polling timer driven by hand, bad input.

Moved out of a string literal in tests/test_addon.py; `main` takes the old child's arguments (MODE REPO ARGS...) and
returns what the test reads.
"""
# ruff: noqa: E402, E731
from __future__ import annotations

import sys
import time


def main(*args: str) -> dict:
    argv = ["child", *args, "result.json"]  # the layout the body was written for: script MODE REPO ... RESULT
    out: dict = {}
    import numpy as np
    VIDEO, TMP = argv[3], argv[4]

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
    return out
