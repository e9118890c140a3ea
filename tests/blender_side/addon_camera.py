"""The add-on's camera and subject-height options inside pip bpy.

Moved out of a string literal in tests/test_addon_camera.py; `main` takes the old child's arguments (MODE REPO ARGS...) and
returns what the test reads.
"""
# ruff: noqa: E402, E731
from __future__ import annotations

import glob
import time


def main(*args: str) -> dict:
    argv = ["child", *args, "result.json"]  # the layout the body was written for: script MODE REPO ... RESULT
    out: dict = {}
    TMP = argv[3]
    MOTION, VIDEO = TMP + "/motion.npz", TMP + "/clip.mp4"

    class Layout:
        """Records prop() calls; sub-layouts share the log (no window in a background Blender)."""

        def __init__(self, log):
            self.__dict__["log"] = log

        def __setattr__(self, name, value):
            pass

        def __getattr__(self, name):
            def call(*args, **kw):
                if name == "prop":
                    self.log.append(args[1])
                return Layout(self.log) if name in ("column", "row", "box", "split") else None
            return call

    def op(name):
        try:
            return {"result": sorted(getattr(bpy.ops.posebake, name)()), "error": ""}
        except RuntimeError as exc:
            return {"result": ["CANCELLED"], "error": str(exc)}

    def cameras():
        sc = bpy.context.scene
        return {"objects": sorted(o.name for o in bpy.data.objects if o.type == "CAMERA"),
                "scene_camera": sc.camera.name if sc.camera else None,
                "camera_data": len(bpy.data.cameras),
                "resolution": [sc.render.resolution_x, sc.render.resolution_y, sc.render.resolution_percentage],
                "fps": sc.render.fps / sc.render.fps_base}

    def job_bake(key):
        """Bake a 'video' through the SubprocessJob path; the timer callback is driven by hand."""
        before = set(glob.glob(TMP + "/argv_*.txt"))
        s.status, s.message = "IDLE", ""
        r = op("bake")
        t0 = time.monotonic()
        while ops.poll_step() is not None:
            assert time.monotonic() - t0 < 60, "job never finished"
            time.sleep(0.05)
        new = sorted(set(glob.glob(TMP + "/argv_*.txt")) - before)
        argv = open(new[-1]).read().split("\n")[:-1] if new else []
        out[key] = {"op": r, "status": s.status, "message": s.message, "argv": argv,
                    "motion_path": s.motion_path, **cameras()}


    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    import posebake_blender as pb
    pb.register()
    try:
        from posebake_blender import ops, props, ui
        import rigbuilder
        rig = rigbuilder.build_rig("mixamo", pose="A", seed=7)
        bpy.context.view_layer.objects.active = rig
        s = bpy.context.scene.posebake
        log = []
        ui.draw_panel(Layout(log), bpy.context)
        out["panel"] = log
        out["defaults"] = [s.camera_from_video, s.subject_height, s.focal_px]

        # -- a Motion .npz, option off: no camera; option on: the scene camera at the video's size ------
        s.video_path = MOTION
        r = op("bake")
        out["npz_off"] = {"op": r, "message": s.message, **cameras()}
        s.camera_from_video = True
        r = op("bake")
        out["npz_on"] = {"op": r, "message": s.message, **cameras()}
        cam = bpy.context.scene.camera
        out["npz_on"]["lens"] = cam.data.lens if cam else None

        # -- the finished-job path, with and without height / focal --------------------------------
        props.FALLBACK.mode, props.FALLBACK.python_path = "SUBPROCESS", TMP + "/fake_python"
        s.video_path, s.subject_height, s.focal_px = VIDEO, 1.72, 1400.0
        job_bake("job_set")
        s.subject_height, s.focal_px, s.camera_from_video = 0.0, 0.0, False
        job_bake("job_unset")
        s.subject_height = 0.3  # centimetres typed as metres would be 170; 0.3 is below any person
        out["too_small"] = op("bake")
        out["too_small"]["message"] = s.message
    finally:
        pb.unregister()  # bpy 4.5 hangs at exit while classes are registered
    out["unregistered"] = not hasattr(bpy.types.Scene, "posebake")
    return out
