"""Leave the scene as it was when a bake fails part-way.

A bake creates an Action (and with a camera: a camera object, its data, its Action and the video clip),
assigns it, sets bones to quaternion rotation, may extend the scene's end frame and set its rate, render
size and camera. Most refusals happen before any of that (`bake.check_rig`, `prepare`), but a failure
after it (the camera step, a script's progress callback, a bug) must not leave half a bake behind: the
panel, `posebake bake` and the Python API all run the bake inside `SceneGuard`, which undoes it all.
"""
from __future__ import annotations

from typing import Any

import bpy

#: the datablock collections a bake adds to; anything new in them is removed on failure
KINDS = ("actions", "objects", "cameras", "movieclips")
#: scene settings a bake may change (`bake.bake`, `camera.create_camera`)
SCENE_ATTRS = ("frame_end", "camera")
RENDER_ATTRS = ("fps", "fps_base", "resolution_x", "resolution_y", "resolution_percentage", "pixel_aspect_x",
                "pixel_aspect_y")


class SceneGuard:
    """`with SceneGuard(obj): bake...` - on an exception, everything the bake did to `obj`, its scene and
    the blend data is undone, then the exception propagates."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.scene = bpy.context.scene

    def __enter__(self) -> "SceneGuard":
        self.before = {k: {d.as_pointer() for d in getattr(bpy.data, k)} for k in KINDS}
        ad = self.obj.animation_data
        self.had_anim = ad is not None
        self.action = ad.action if ad is not None else None
        self.slot = getattr(ad, "action_slot", None) if ad is not None else None
        self.modes = {pb.name: pb.rotation_mode for pb in self.obj.pose.bones}
        self.scene_vals = {a: getattr(self.scene, a) for a in SCENE_ATTRS}
        self.render_vals = {a: getattr(self.scene.render, a) for a in RENDER_ATTRS}
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.restore()
        return False

    def restore(self) -> None:
        obj = self.obj
        if self.had_anim:
            obj.animation_data.action = self.action
            if self.slot is not None and getattr(obj.animation_data, "action_slot", None) != self.slot:
                try:
                    obj.animation_data.action_slot = self.slot
                except (AttributeError, TypeError, RuntimeError):
                    pass  # the slot went with its action; the action is what matters
        elif obj.animation_data is not None:
            obj.animation_data_clear()
        for name, mode in self.modes.items():
            pb = obj.pose.bones.get(name)
            if pb is not None and pb.rotation_mode != mode:
                pb.rotation_mode = mode
        for attr, value in self.scene_vals.items():
            setattr(self.scene, attr, value)
        for attr, value in self.render_vals.items():
            setattr(self.scene.render, attr, value)
        for kind in ("objects", "cameras", "actions", "movieclips"):  # users first, then what they used
            coll = getattr(bpy.data, kind)
            for block in [d for d in coll if d.as_pointer() not in self.before[kind]]:
                coll.remove(block)
