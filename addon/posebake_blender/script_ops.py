"""`bpy.ops.posebake.bake_file`: the API's `bake` as an operator, for scripts that prefer operators.

Unlike the panel's Bake (which starts a job and follows it with a timer), this runs to the end inside
`execute`, so `bpy.ops.posebake.bake_file('EXEC_DEFAULT', ...)` works in background Blender. A refusal is
reported as an error, which makes `bpy.ops` raise a RuntimeError carrying the message; the scene is then
unchanged (`api.bake`).
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty

from . import api


class POSEBAKE_OT_bake_file(bpy.types.Operator):
    """Bake a Motion file (.npz) or a video onto an armature, synchronously (for scripts)"""

    bl_idname = "posebake.bake_file"
    bl_label = "Bake file onto armature"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Motion or video", subtype="FILE_PATH")
    armature: StringProperty(name="Armature", description="object name; empty: the active object")
    preset: StringProperty(name="Preset", description="preset name or file; empty: auto-detect")
    track: IntProperty(name="Person", default=0, min=0)
    foot_lock: BoolProperty(name="Foot lock", default=True)
    root_motion: BoolProperty(name="Root motion", default=True)
    scale_to_rig: BoolProperty(name="Scale to rig", default=True)
    camera: BoolProperty(name="Camera from video", default=False)
    set_scene_fps: BoolProperty(name="Scene rate from motion", default=False)
    action_name: StringProperty(name="Action name", description="empty: <armature>_posebake")
    frame_start: IntProperty(name="First video frame", default=-1, min=-1, description="-1: from the start")
    frame_end: IntProperty(name="End video frame", default=-1, min=-1, description="-1: to the end")
    smoothing: FloatProperty(name="Extra smoothing", default=0.0, min=0.0)

    def execute(self, context) -> set[str]:
        arm = self.armature or (context.active_object.name if context.active_object else "")
        try:
            if not arm:
                raise api.BakeError("no armature: pass armature=NAME or make the rig the active object")
            res = api.bake(arm, bpy.path.abspath(self.filepath), preset=self.preset or None, track=self.track,
                           foot_lock=self.foot_lock, root_motion=self.root_motion, scale_to_rig=self.scale_to_rig,
                           camera=self.camera, set_scene_fps=self.set_scene_fps,
                           action_name=self.action_name or None, smoothing=self.smoothing,
                           frame_start=None if self.frame_start < 0 else self.frame_start,
                           frame_end=None if self.frame_end < 0 else self.frame_end)
        except api.BakeError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"baked {res.action.name!r} onto {arm!r}, frames {res.frame_range[0]:g}-"
                              f"{res.frame_range[1]:g}")
        return {"FINISHED"}


register, unregister = bpy.utils.register_classes_factory((POSEBAKE_OT_bake_file,))
