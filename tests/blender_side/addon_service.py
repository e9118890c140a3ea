"""The add-on's Service mode inside pip bpy, against a real `posebake serve`.

Moved out of a string literal in tests/test_addon_service.py; `main` takes the old child's arguments (MODE REPO ARGS...) and
returns what the test reads.
"""
# ruff: noqa: E402, E731
from __future__ import annotations

import os
import time

from tests.blender_side.fcurves import action_fcurves


def main(*args: str) -> dict:
    argv = ["child", *args, "result.json"]  # the layout the body was written for: script MODE REPO ... RESULT
    out: dict = {}
    REPO, URL, VIDEO, BLANK, DEAD, TMP = argv[2:8]

    def snapshot(rig):
        ad = rig.animation_data
        return {"actions": sorted(a.name for a in bpy.data.actions), "action": ad.action.name if ad and ad.action else None,
                "frame_end": bpy.context.scene.frame_end}

    def op(name):
        try:
            return {"result": sorted(getattr(bpy.ops.posebake, name)()), "error": ""}
        except RuntimeError as exc:
            return {"result": ["CANCELLED"], "error": str(exc)}

    def pump(limit=240.0):
        t0, seen = time.monotonic(), []
        while time.monotonic() - t0 < limit:
            nxt = ops.poll_step()
            s = bpy.context.scene.posebake
            seen.append([s.stage, round(s.progress, 3), round(s.eta, 1)])
            if nxt is None:
                return seen
            time.sleep(0.1)
        raise TimeoutError(f"job still running after {limit} s: {seen[-3:]}")


    import bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
    import posebake_blender as pb
    pb.register()
    from posebake_blender import ops, props
    import rigbuilder

    rig = rigbuilder.build_rig("mixamo", pose="T", seed=5)
    bpy.context.view_layer.objects.active = rig
    s = bpy.context.scene.posebake
    s.video_path, s.use_frame_range, s.frame_start, s.frame_end = VIDEO, True, 0, 8
    prefs = props.FALLBACK
    prefs.mode = "SERVICE"

    def attempt(key, url, token="", video=VIDEO, cancel=False):
        prefs.backend_url, prefs.token, s.video_path = url, token, video
        s.status, s.message = "IDLE", ""
        before = snapshot(rig)
        r = op("bake")
        if r["result"] == ["FINISHED"]:
            if cancel:
                ops.poll_step()
                r["cancel"] = op("cancel")
            r["seen"] = pump()
        r.update(status=s.status, message=s.message, unchanged=snapshot(rig) == before)
        out[key] = r

    attempt("refused", DEAD)
    attempt("token_rejected", URL, token="not-the-token")
    cfg = os.environ["POSEBAKE_CONFIG"]
    os.environ["POSEBAKE_CONFIG"] = TMP + "/no_config.json"
    attempt("token_missing", URL)
    os.environ["POSEBAKE_CONFIG"] = cfg
    attempt("job_failed", URL, video=BLANK)
    attempt("cancelled", URL, cancel=True)
    attempt("ok", URL)  # token read from the service config file
    act = rig.animation_data.action
    out["ok"].update(action=act.name, motion=s.motion_path, motion_exists=os.path.isfile(s.motion_path),
                     keys=len(action_fcurves(act)[0].keyframe_points))
    prefs.python_path = TMP + "/no/python"
    out["start_backend_bad_python"] = op("start_backend")
    pb.unregister()
    return out
