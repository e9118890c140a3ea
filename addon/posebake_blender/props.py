"""Scene settings of the PoseBake panel and the add-on preferences (bpy properties only).

The status fields (`status`, `stage`, `progress`, `eta`, `message`) are written by the polling timer on
Blender's main thread and only read by the panel, so a redraw always shows the last poll.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)
from posebake_core.jobs import HEIGHT_RANGE_M

from . import ADDON_ID

_PRESET_ITEMS: list[tuple[str, str, str]] = []
_TRACK_ITEMS: dict[tuple[str, float], list[tuple[str, str, str]]] = {}
_NO_TRACKS = [("0", "Main subject", "Track 0, the person seen most; pick others once a motion is estimated")]


def reset_preset_items() -> None:
    """Forget the preset menu's items, so a preset saved or imported just now is listed."""
    _PRESET_ITEMS.clear()


def preset_items(self, context) -> list[tuple[str, str, str]]:
    """'Auto-detect' plus every preset file; built once (the list must outlive the call, see bpy docs)."""
    if not _PRESET_ITEMS:
        from .rigs import RigError, list_presets, load_preset
        _PRESET_ITEMS.append(("AUTO", "Auto-detect", "Use the preset whose bone names the rig has, else map by "
                                                     "bone names and hierarchy"))
        for name in list_presets():
            try:
                label = load_preset(name).label
            except RigError:
                continue
            _PRESET_ITEMS.append((name, label, f"Rig preset {name}"))
    return _PRESET_ITEMS


def track_labels(path: str) -> list[tuple[str, str, str]]:
    """Picker entries for the tracks of a Motion file, cached by (path, mtime); [] if it is unreadable."""
    try:
        key = (path, os.path.getmtime(path))
    except OSError:
        return []
    if key not in _TRACK_ITEMS:
        from posebake_core.errors import MotionError
        from posebake_core.motion import Motion
        try:
            mf = Motion.load(path)
        except MotionError:
            return []
        seen = mf.presence()
        _TRACK_ITEMS[key] = [(str(i), f"Person {i} (id {int(mf.track_ids[i])}, {seen[i] * 100:.0f}% of frames)",
                              f"Track {i} of {os.path.basename(path)}") for i in range(mf.num_tracks)]
    return _TRACK_ITEMS[key]


def motion_source(settings) -> str:
    """The Motion file whose people the picker lists: the input itself when it is a .npz, else the last
    estimate of it."""
    video = bpy.path.abspath(settings.video_path) if settings.video_path else ""
    return video if video.lower().endswith(".npz") else bpy.path.abspath(settings.motion_path)


def track_items(self, context) -> list[tuple[str, str, str]]:
    return track_labels(motion_source(self)) or _NO_TRACKS


def _is_armature(self, obj) -> bool:
    return obj.type == "ARMATURE"


class PoseBakeRoleBone(bpy.types.PropertyGroup):
    """One row of the bone-mapping editor (`mapping.py`)."""

    role: StringProperty(name="Role")
    bone: StringProperty(name="Bone", description="Bone that plays this role (empty: none)")


def target_armature(context):
    """The rig a bake goes onto: the panel's armature, else the active object."""
    s = context.scene.posebake
    return s.armature if s.armature is not None else context.active_object


class PoseBakeSettings(bpy.types.PropertyGroup):
    video_path: StringProperty(name="Video", subtype="FILE_PATH",
                               description="Video of a person, or a Motion .npz estimated before")
    armature: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                              description="Rig to bake onto (empty: the active object)")
    preset: EnumProperty(name="Preset", items=preset_items, description="Bone-name preset of the rig")
    track: EnumProperty(name="Person", items=track_items, description="Which tracked person to bake")
    role_map: CollectionProperty(type=PoseBakeRoleBone, name="Bone mapping")
    use_role_map: BoolProperty(name="Use this mapping", default=False,
                               description="Bake with the roles as edited below instead of the preset menu's")
    smoothing: FloatProperty(name="Smoothing", min=0.0, max=10.0, default=0.0, subtype="FACTOR",
                             description="Extra temporal smoothing, Gaussian sigma in frames (0: off)")
    root_motion: BoolProperty(name="Root motion", default=True,
                              description="Move the rig through the scene as the person moves (off: in place)")
    foot_lock: BoolProperty(name="Foot lock", default=True, description="Pin planted feet (no sliding)")
    fingers: BoolProperty(name="Fingers", default=True,
                          description="Estimate the hands and bake the fingers, when the rig has finger bones "
                                      "(the hand stage adds to the estimate's time)")
    contact_height: FloatProperty(name="Contact height", min=0.0, max=0.5, default=0.0, precision=2, step=1,
                                  description="How low a heel or toe must be, in leg lengths above its lowest, "
                                              "to count as planted (0: the estimate's contacts, found at 0.12)")
    scale_to_rig: BoolProperty(name="Scale to rig", default=True,
                               description="Scale travel to the rig's leg length (off: the video's metres)")
    use_frame_range: BoolProperty(name="Frame range", default=False,
                                  description="Only use part of the video (frame indices, end excluded)")
    frame_start: IntProperty(name="Start", min=0, default=0)
    frame_end: IntProperty(name="End", min=1, default=100)
    preview_over_video: BoolProperty(name="Preview over video", default=False,
                                     description="After the bake, look through the matched camera with the video "
                                                 "behind the character (adds the camera, as Camera from video)")
    camera_from_video: BoolProperty(name="Camera from video", default=False,
                                    description="Also add a camera matching the video (lens, image size, fps, "
                                                "pan) with the video as its background, and make it the scene "
                                                "camera")
    # 0 means "not known": the estimator then uses its learned body size / the video's metadata or a default
    # field of view. Only used when estimating from a video, not for a Motion .npz estimated before. Plain
    # metres, not subtype DISTANCE: that one follows the scene's unit scale, and a scene in centimetres
    # would then send 170 for a 1.7 m person.
    subject_height: FloatProperty(name="Subject height (m)", min=0.0, max=HEIGHT_RANGE_M[1], default=0.0,
                                  precision=2, step=1,
                                  description="The person's standing height in metres, fixes the metric scale "
                                              "(0: unknown, estimated)")
    focal_px: FloatProperty(name="Focal (px)", min=0.0, max=100000.0, default=0.0, precision=0, step=100,
                            description="Camera focal length in pixels (0: unknown, from the video's metadata, "
                                        "else from floor tiles or walls seen in the video, else a typical "
                                        "phone field of view)")
    motion_path: StringProperty(name="Motion", subtype="FILE_PATH",
                                description="Last estimated Motion file (re-bake other people without re-estimating)")
    status: EnumProperty(name="Status", items=[(k, k.title(), "") for k in
                                               ("IDLE", "RUNNING", "DONE", "ERROR", "CANCELLED")], default="IDLE")
    stage: StringProperty(name="Stage")
    progress: FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    eta: FloatProperty(name="ETA", default=-1.0)
    message: StringProperty(name="Message")


@dataclass
class FallbackPreferences:
    """Used when the add-on runs without being enabled in Preferences (pip bpy, scripts)."""

    mode: str = "SERVICE"
    backend_url: str = ""
    token: str = ""
    python_path: str = ""


FALLBACK = FallbackPreferences()


class PoseBakePreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    mode: EnumProperty(name="Backend", default="SERVICE", items=[
        ("SERVICE", "Service", "Send videos to `posebake serve` (models stay loaded between bakes)"),
        ("SUBPROCESS", "Subprocess", "Run `posebake estimate` with the backend Python for each bake")])
    backend_url: StringProperty(name="Backend URL", default="",
                                description="Empty: the URL in the backend's config file, else http://127.0.0.1:8765")
    token: StringProperty(name="Token", subtype="PASSWORD", default="",
                          description="Empty: read from the backend's config file (service.json)")
    python_path: StringProperty(name="Backend Python", subtype="FILE_PATH", default="",
                                description="python of the environment where posebake is installed")

    def draw(self, context) -> None:
        from .client import config_path
        col = self.layout.column()
        col.prop(self, "mode")
        col.prop(self, "backend_url")
        col.prop(self, "token")
        col.label(text=f"Token file: {config_path()}")
        col.prop(self, "python_path")
        row = col.row()
        row.operator("posebake.install_backend", icon="IMPORT")
        row.operator("posebake.start_backend", icon="PLAY")
        from .install import status_line
        if status_line():
            col.label(text=status_line())


def get_prefs(context=None):
    ctx = context or bpy.context
    addon = ctx.preferences.addons.get(ADDON_ID) if ctx.preferences else None
    return addon.preferences if addon is not None and addon.preferences is not None else FALLBACK


CLASSES = (PoseBakeRoleBone, PoseBakeSettings, PoseBakePreferences)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.posebake = PointerProperty(type=PoseBakeSettings)


def unregister() -> None:
    del bpy.types.Scene.posebake
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
