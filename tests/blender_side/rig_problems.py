"""Rigs the bake must refuse (or warn about), each set up for real inside pip bpy: the message for each,
and whether the scene stayed as it was."""
from __future__ import annotations

import os


def _snapshot(bpy, rig) -> dict:
    ad = rig.animation_data
    return {"actions": sorted(a.name for a in bpy.data.actions), "action": ad.action.name if ad and ad.action
            else None}


def run(tmp: str, motion: str) -> dict:
    import bpy
    from posebake_core.retarget.prepare import BakeOptions

    import rigbuilder
    from posebake_blender.blender.apply import bake_motion
    from posebake_blender.blender.bake import BakeError
    from posebake_blender.rigs import load_preset

    def attempt(rig, preset=None) -> dict:
        before = _snapshot(bpy, rig)
        try:
            res = bake_motion(rig, motion, BakeOptions(), preset)
            return {"error": "", "warnings": res.warnings}
        except BakeError as exc:
            return {"error": str(exc), "unchanged": _snapshot(bpy, rig) == before}

    out: dict = {}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=5)
    out["no_mesh"] = attempt(rig)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=5)
    c = rig.pose.bones["mixamorig:LeftForeArm"].constraints.new("COPY_ROTATION")
    c.name = "follow"
    out["constraint"] = attempt(rig)
    c.enabled = False
    out["muted_constraint"] = attempt(rig)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=5)
    fc = rig.pose.bones["mixamorig:RightLeg"].driver_add("rotation_quaternion", 1)
    fc.driver.expression = "0.1"
    out["driver"] = attempt(rig)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=5)
    rig.scale = (1.0, 1.0, 1.3)
    out["non_uniform_scale"] = attempt(rig)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=5)
    twice = load_preset("mixamo")
    twice.bones["hand.L"] = twice.bones["forearm.L"]
    out["bone_twice"] = attempt(rig, twice)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rigbuilder.build_rig("mixamo", pose="A", seed=5, name="lib_rig")
    lib = os.path.join(tmp, "library.blend")
    bpy.ops.wm.save_as_mainfile(filepath=lib)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    with bpy.data.libraries.load(lib, link=True) as (src, dst):
        dst.objects = ["lib_rig"]
    linked = dst.objects[0]
    bpy.context.scene.collection.objects.link(linked)
    out["linked"] = attempt(linked)
    return out
