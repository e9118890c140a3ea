"""The mapping editor driven as a user would (operators on a registered add-on), and a baked file read back."""
from __future__ import annotations

from tests.blender_side.fcurves import action_fcurves


def edit_and_save(rig_blend: str, role: str, bone: str, preset: str) -> dict:
    """Open the rig, load the mapping into the panel, give `role` the bone `bone`, save it as `preset`."""
    import bpy

    import posebake_blender as pb

    bpy.ops.wm.open_mainfile(filepath=rig_blend)
    pb.register()
    s = bpy.context.scene.posebake
    s.armature = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    out = {"load": sorted(bpy.ops.posebake.map_load())}
    rows = {(r.role, r.bone) for r in s.role_map}
    out["loaded"] = sorted(f"{r}={b}" for r, b in rows)
    row = next(r for r in s.role_map if r.role == role)
    out["was"] = row.bone
    row.bone = bone
    out["save"] = sorted(bpy.ops.posebake.map_save("EXEC_DEFAULT", name=preset))
    out["menu_has_it"] = s.preset == preset
    return out


def rotation_keys(blend: str, *bones: str) -> dict:
    """Per bone: how many keys its rotation curves hold in the baked Action, and how far they move."""
    import bpy

    bpy.ops.wm.open_mainfile(filepath=blend)
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    act = arm.animation_data.action
    fcs = action_fcurves(act)
    out = {}
    for b in bones:
        path = f'pose.bones["{b}"].rotation_quaternion'
        curves = [fc for fc in fcs if fc.data_path == path]
        values = [kp.co[1] for fc in curves for kp in fc.keyframe_points]
        out[b] = {"keys": sum(len(fc.keyframe_points) for fc in curves),
                  "spread": max(values) - min(values) if values else 0.0}
    return out
