"""The bone-mapping editor in the PoseBake panel: roles -> bones as found, a bone picker per role, presets.

"Load mapping" fills one row per role (several for the spine and neck chains) with what the preset or the
auto-mapping found on the target armature; each row has a bone picker; "Use this mapping" bakes with the
rows as they are. "Save as preset" writes them into the user's presets folder (`rigs.user_presets_dir`),
where the preset menu and `posebake bake --preset NAME` find it; "Export" and "Import" move preset files.
"""
from __future__ import annotations

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper
from posebake_core.retarget.canonical import ROLES

from .props import reset_preset_items, target_armature
from .rigs import Preset, RigError, load_preset, save_preset

#: the row order of the editor: trunk first, then each side's arm and leg
ROLE_ORDER = ("pelvis", "spine", "neck", "head") + tuple(
    f"{k}.{S}" for S in "LR" for k in ("clavicle", "upper_arm", "forearm", "hand", "thigh", "shin", "foot", "toe"))
assert set(ROLE_ORDER) == set(ROLES)


def rows_to_mapping(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        if r.bone:
            out.setdefault(r.role, []).append(r.bone)
    return out


def edited_preset(s) -> Preset | None:
    """The editor's rows as a preset, when "Use this mapping" is on (None: the preset menu applies)."""
    if not s.use_role_map or not len(s.role_map):
        return None
    return Preset("edited", "Edited in the panel", rows_to_mapping(s.role_map))


def _refresh_preset_menu() -> None:
    reset_preset_items()


class POSEBAKE_OT_map_load(bpy.types.Operator):
    """Fill the editor with the roles found on the target armature (preset, or auto-mapping)"""

    bl_idname = "posebake.map_load"
    bl_label = "Load mapping"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context) -> set[str]:
        from .blender.bake import BakeError, map_rig

        s = context.scene.posebake
        try:  # what the preset menu finds (not an edited mapping): the starting point to edit
            _rest, rep = map_rig(target_armature(context), None if s.preset == "AUTO" else s.preset)
        except BakeError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        s.role_map.clear()
        for role in ROLE_ORDER:
            for bone in rep.mapping.get(role) or [""]:
                row = s.role_map.add()
                row.role, row.bone = role, bone
        s.use_role_map = True
        pick = f"; pick: {', '.join(rep.missing)}" if rep.missing else ""
        self.report({"INFO"}, f"{len(rep.mapping)} roles found{pick}")
        return {"FINISHED"}


class POSEBAKE_OT_map_save(bpy.types.Operator):
    """Save the edited mapping as a rig preset (listed with the built-in ones, usable by posebake bake --preset)"""

    bl_idname = "posebake.map_save"
    bl_label = "Save as preset"
    name: StringProperty(name="Preset name", default="my_rig")

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context) -> set[str]:
        s = context.scene.posebake
        try:
            path = save_preset(self.name, rows_to_mapping(s.role_map), label=f"{self.name} (saved in the panel)")
        except (RigError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _refresh_preset_menu()
        s.preset = self.name
        self.report({"INFO"}, f"saved {path}")
        return {"FINISHED"}


class POSEBAKE_OT_map_export(bpy.types.Operator, ExportHelper):
    """Write the edited mapping to a preset file"""

    bl_idname = "posebake.map_export"
    bl_label = "Export preset"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context) -> set[str]:
        from pathlib import Path
        s = context.scene.posebake
        try:
            save_preset(Path(self.filepath).stem, rows_to_mapping(s.role_map), path=self.filepath)
        except (RigError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


class POSEBAKE_OT_map_import(bpy.types.Operator, ImportHelper):
    """Add a preset file to your presets (checked first) and use it"""

    bl_idname = "posebake.map_import"
    bl_label = "Import preset"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context) -> set[str]:
        s = context.scene.posebake
        try:
            p = load_preset(self.filepath)
            save_preset(p.name, p.bones, label=p.label, root_motion=p.root_motion)
        except (RigError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _refresh_preset_menu()
        s.preset = p.name
        return {"FINISHED"}


def draw_mapping(layout, context, obj) -> None:
    """The editor's box; rows only after "Load mapping" (drawing never resolves a rig itself)."""
    s = context.scene.posebake
    box = layout.box()
    row = box.row()
    row.label(text="Bone mapping")
    row.operator("posebake.map_load", text="Load", icon="FILE_REFRESH")
    if not len(s.role_map):
        return
    box.prop(s, "use_role_map")
    col = box.column(align=True)
    armature = obj.data if obj is not None and obj.type == "ARMATURE" else None
    for item in s.role_map:
        r = col.row(align=True)
        r.label(text=item.role)
        if armature is not None:
            r.prop_search(item, "bone", armature, "bones", text="")
        else:
            r.prop(item, "bone", text="")
    row = box.row(align=True)
    row.operator("posebake.map_save", icon="FILE_TICK")
    row.operator("posebake.map_export", text="", icon="EXPORT")
    row.operator("posebake.map_import", text="", icon="IMPORT")


CLASSES = (POSEBAKE_OT_map_load, POSEBAKE_OT_map_save, POSEBAKE_OT_map_export, POSEBAKE_OT_map_import)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
