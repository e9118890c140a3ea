"""The "PoseBake" tab in the 3D Viewport sidebar.

`draw_panel` takes any layout-like object, so tests drive it with a recorder instead of a real UILayout
(there is no window in a background Blender). Drawing never reads files or talks to the backend except
through small caches (detected preset per rig, tracks per Motion file), since Blender redraws often.
"""
from __future__ import annotations

import textwrap

import bpy

from .mapping import draw_mapping
from .ops import active_runner
from .props import target_armature

_DETECTED: dict[tuple[str, int], str] = {}


def detected_preset(obj) -> str:
    """What 'Auto-detect' will use on `obj`, cached per (name, bone count)."""
    if obj is None or obj.type != "ARMATURE":
        return ""
    key = (obj.name, len(obj.data.bones))
    if key not in _DETECTED:
        from .rigs import detect_preset
        _DETECTED[key] = detect_preset([b.name for b in obj.data.bones]) or "auto-mapping by bone names"
    return _DETECTED[key]


def _eta_text(eta: float) -> str:
    if eta < 0:
        return ""
    m, sec = divmod(int(round(eta)), 60)
    return f", ETA {m}:{sec:02d}" if m else f", ETA {sec} s"


def draw_panel(layout, context) -> None:
    s = context.scene.posebake
    col = layout.column()
    col.prop(s, "video_path")
    col.prop(s, "armature")
    obj = target_armature(context)
    row = col.row()
    row.prop(s, "preset")
    if s.preset == "AUTO" and obj is not None:
        col.label(text=f"Detected: {detected_preset(obj) or 'not an armature'}", icon="INFO")
    col.prop(s, "track")
    draw_mapping(layout, context, obj)

    box = layout.box()
    box.label(text="Options")
    box.prop(s, "smoothing")
    box.prop(s, "root_motion")
    box.prop(s, "foot_lock")
    if s.foot_lock:
        box.prop(s, "contact_height")
    box.prop(s, "fingers")
    box.prop(s, "scale_to_rig")
    box.prop(s, "use_frame_range")
    if s.use_frame_range:
        row = box.row(align=True)
        row.prop(s, "frame_start")
        row.prop(s, "frame_end")
    box.prop(s, "camera_from_video")
    box.prop(s, "preview_over_video")
    box.prop(s, "subject_height")
    box.prop(s, "focal_px")

    running = active_runner() is not None
    if running:
        text = f"{s.stage}: {s.progress * 100:.0f}%{_eta_text(s.eta)}"
        progress = getattr(layout, "progress", None)
        if progress is not None:  # Blender 4.0+
            progress(factor=s.progress, type="BAR", text=text)
        else:
            layout.label(text=text)
        layout.operator("posebake.cancel", icon="CANCEL")
    else:
        layout.operator("posebake.bake", icon="ARMATURE_DATA")
        if s.motion_path:
            layout.operator("posebake.rebake", icon="FILE_REFRESH")

    if s.status in ("ERROR", "DONE", "CANCELLED") and s.message:
        box = layout.box()
        box.alert = s.status == "ERROR"
        icon = {"ERROR": "ERROR", "DONE": "CHECKMARK", "CANCELLED": "CANCEL"}[s.status]
        for k, line in enumerate(textwrap.wrap(s.message, 48)):
            box.label(text=line, icon=icon if k == 0 else "BLANK1")


class VIEW3D_PT_posebake(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "PoseBake"
    bl_label = "PoseBake"

    def draw(self, context) -> None:
        draw_panel(self.layout, context)


def register() -> None:
    bpy.utils.register_class(VIEW3D_PT_posebake)


def unregister() -> None:
    bpy.utils.unregister_class(VIEW3D_PT_posebake)
