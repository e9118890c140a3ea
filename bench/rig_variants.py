"""Rigs set up the ways real characters arrive, built inside pip bpy: `python bench/rig_variants.py NAME OUT.blend`.

- `cmu_mixamo_fbx`: the CMU character as a Mixamo FBX import arrives: bone lengths in centimetres, armature
  object scale 0.01, rotated 90° about X (the FBX Y-up to Blender Z-up fix), so the world size is unchanged;
- `cmu_scaled_empty`: the CMU character's armature parented to an empty scaled 2x and turned 30° about Z,
  its own scale 0.5 (a rig placed in a layout scene);
- `rigify`: a Rigify rig generated from Blender's human metarig (needs the Rigify add-on bundled with bpy).
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

DATA = Path(os.environ.get("POSEBAKE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CMU = DATA / "characters" / "cmu_skeleton_basemesh_female.glb"


def _import_cmu():
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(CMU))
    return next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")


def cmu_mixamo_fbx():
    """Bone lengths x100 in edit mode, object scale 0.01 and 90° about X, with the mesh following."""
    import bpy
    from mathutils import Matrix

    arm = _import_cmu()
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    # scale the rest pose and the bound meshes by 100 in the armature's space, then undo it in the object
    fix = Matrix.Rotation(math.radians(-90.0), 4, "X")  # Z-up rest -> Y-up rest, as an FBX brings it
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for eb in arm.data.edit_bones:
        eb.transform(Matrix.Scale(100.0, 4) @ fix)
    bpy.ops.object.mode_set(mode="OBJECT")
    for me in meshes:
        me.data.transform(Matrix.Scale(100.0, 4) @ fix @ me.matrix_parent_inverse @ me.matrix_basis)
        me.matrix_parent_inverse = Matrix.Identity(4)
        me.matrix_basis = Matrix.Identity(4)
    arm.matrix_world = arm.matrix_world @ fix.inverted() @ Matrix.Scale(0.01, 4)
    return arm


def cmu_scaled_empty():
    import bpy

    arm = _import_cmu()
    empty = bpy.data.objects.new("Layout", None)
    bpy.context.scene.collection.objects.link(empty)
    empty.scale = (2.0, 2.0, 2.0)
    empty.rotation_euler = (0.0, 0.0, math.radians(30.0))
    empty.location = (1.0, -2.0, 0.0)
    bpy.context.view_layer.update()
    world = arm.matrix_world.copy()
    arm.parent = empty
    arm.scale = (0.5, 0.5, 0.5)
    arm.matrix_parent_inverse = empty.matrix_world.inverted() @ world @ arm.matrix_basis.inverted()
    return arm


def rigify():
    import addon_utils
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    rig = bpy.context.view_layer.objects.active
    for o in bpy.data.objects:  # the bone-shape widgets live in a collection a user's scene keeps hidden
        if o.name.startswith("WGT-"):
            o.hide_render = o.hide_viewport = True
    meta = bpy.data.objects.get("metarig")
    if meta is not None:
        bpy.data.objects.remove(meta)
    return rig


VARIANTS = {"cmu_mixamo_fbx": cmu_mixamo_fbx, "cmu_scaled_empty": cmu_scaled_empty, "rigify": rigify}


if __name__ == "__main__":
    import bpy

    VARIANTS[sys.argv[1]]()
    bpy.ops.wm.save_as_mainfile(filepath=sys.argv[2])
    sys.stdout.flush()
    os._exit(0)
