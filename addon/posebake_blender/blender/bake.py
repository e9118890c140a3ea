"""Bake a solved retarget into a new Action on an armature (bpy glue only; the maths is in `posebake_core.retarget`).

Keys are written in bulk (`keyframe_points.add` + `foreach_set`), never `keyframe_insert` per key, which
is what keeps a 10,000-frame, 60-bone bake around a second. Blender 4.4+ stores F-curves in layered
actions (`action.layers[0].strips[0].channelbag(slot)`; 5.0 removed `Action.fcurves`); older 4.x uses
`action.fcurves`. Nothing in the scene changes until the whole Action is built: a failure removes the
half-built Action and leaves the armature's previous animation exactly as it was.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import math

import bpy
import numpy as np

from posebake_core.retarget.armature import RestPose, is_under
from posebake_core.retarget.canonical import CanonicalPose
from posebake_core.retarget.solve import Solution, solve

from ..rigs import MappingReport, Preset, RigError, resolve
from . import rigcheck

_LINEAR = 1  # FCurve keyframe interpolation enum index of 'LINEAR'


class BakeError(RuntimeError):
    """A bake that was refused; the scene is unchanged."""


@dataclass
class BakeResult:
    action: "bpy.types.Action"
    report: MappingReport
    solution: Solution
    frame_range: tuple[float, float]
    camera_info: dict | None = None  # set when a matching video camera was added (`blender.camera`)
    warnings: list[str] = field(default_factory=list)  # said to the user, did not stop the bake


def match_scene_fps(scene, fps: float) -> None:
    """Set the scene rate to the motion's, so every motion frame lands on a whole scene frame
    (29.97 becomes 30 / 1.001, as Blender's own presets express it)."""
    whole = max(1, int(round(fps)))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps if not math.isclose(whole, fps, rel_tol=1e-6) else 1.0


def rest_from_armature(obj) -> RestPose:
    """The armature's rest pose in armature space (bone.matrix_local carries the roll)."""
    bones = obj.data.bones
    return RestPose.from_parent_names(
        [b.name for b in bones], [b.parent.name if b.parent else None for b in bones],
        [tuple(b.head_local) for b in bones], [tuple(b.tail_local) for b in bones],
        [np.array(b.matrix_local.to_3x3()) for b in bones])


def check_rig(obj, preset: str | Preset | None = None) -> MappingReport:
    """Refuse a rig before any work is queued for it (not an armature, unknown preset, missing bones)."""
    return _check(obj, preset)[1]


def map_rig(obj, preset) -> tuple[RestPose, MappingReport]:
    """The armature's rest pose and the mapping found on it (a preset, or by names and shape), whether or
    not it is complete: the mapping editor shows it as is, `check_rig` judges it."""
    if obj is None or getattr(obj, "type", None) != "ARMATURE":
        kind = getattr(obj, "type", type(obj).__name__)
        raise BakeError(f"{getattr(obj, 'name', obj)!r} is not an armature (it is {kind}); select the rig")
    bpy.context.view_layer.update()  # matrix_world after transforms a script set just now
    rest = rest_from_armature(obj)
    up = np.linalg.inv(np.array(obj.matrix_world)[:3, :3]) @ np.array([0.0, 0.0, 1.0])  # world up, armature space
    try:
        rep = resolve(preset, rest.names, [rest.names[p] if p >= 0 else None for p in rest.parents], rest.heads,
                      rest.tails, up / np.linalg.norm(up))
    except RigError as exc:
        raise BakeError(str(exc)) from None
    return rest, rep


def _check(obj, preset) -> tuple[RestPose, MappingReport]:
    rest, rep = map_rig(obj, preset)
    if rep.missing:
        raise BakeError(f"too few mappable bones on {obj.name!r} (preset {rep.preset or 'auto'}): "
                        f"no bone for {', '.join(rep.missing)}")
    found = rigcheck.problems(obj, rep.mapping)
    if found:
        raise BakeError(f"cannot bake onto {obj.name!r}: " + "; ".join(found))
    return rest, rep


def bake(obj, canon: CanonicalPose, preset: str | Preset | None = None, *, foot_lock: bool = True,
         action_name: str | None = None, nla: bool = False, frame_start: float | None = None,
         extend_scene: bool = True, scale_to_rig: bool = True,
         contacts: dict[str, np.ndarray] | None = None) -> BakeResult:
    """Retarget `canon` (world space, Z up, metres) onto armature `obj` and bake a new Action.

    Key times follow the scene's fps: frame = frame_start + i * scene_fps / motion_fps, starting at the
    scene's start frame unless given; the scene's end frame is only ever extended, never shortened.
    `scale_to_rig=False` keeps the video's horizontal travel in metres (see `prepare.unscaled_root`); foot
    lock is then skipped, since feet pinned at rig-scaled strides would fight the unscaled root.
    """
    rest, rep = _check(obj, preset)
    world_to_arm = np.array(obj.matrix_world.inverted())
    src = canon.transformed(world_to_arm)
    up_arm = world_to_arm[:3, :3] @ np.array([0.0, 0.0, 1.0])
    up_arm = up_arm / np.linalg.norm(up_arm)
    floor = float(up_arm @ world_to_arm[:3, 3])  # the canonical world's ground (z = 0) in armature space
    sol = solve(src, rest, rep.mapping, rep.root_motion, foot_lock=foot_lock and scale_to_rig,
                up=up_arm, contacts=contacts, floor=floor)
    if not scale_to_rig:
        from posebake_core.retarget.prepare import unscaled_root
        up = world_to_arm[:3, :3] @ np.array([0.0, 0.0, 1.0])
        up /= np.linalg.norm(up)
        tb = rest.index(sol.root_bone)
        moved = unscaled_root(sol.root_location, src.joints["hips"], sol.scale, rest.matrices[tb], up)
        extra = (moved - sol.root_location) @ rest.matrices[tb].T  # the added travel, armature space
        sol.root_location = moved
        for name in sol.locations:  # detached bones outside the root's subtree travel with it too
            i = rest.index(name)
            if not is_under(rest, i, tb):
                p = int(rest.parents[i])
                d_parent = sol.world[rest.names[p]] if p >= 0 else np.broadcast_to(np.eye(3), (len(extra), 3, 3))
                sol.locations[name] = sol.locations[name] + np.einsum("tj,tjk,kl->tl", extra, d_parent,
                                                                      rest.matrices[i])
    scene = bpy.context.scene
    scene_fps = scene.render.fps / scene.render.fps_base
    start = float(scene.frame_start if frame_start is None else frame_start)
    frames = start + np.arange(canon.num_frames) * (scene_fps / canon.fps)
    action = bpy.data.actions.new(action_name or f"{obj.name}_posebake")
    try:
        write_action(action, obj, sol, frames)
    except Exception:
        bpy.data.actions.remove(action)
        raise
    for name in sol.quats:
        obj.pose.bones[name].rotation_mode = "QUATERNION"
    assign(obj, action, nla=nla, start=start)
    if extend_scene and frames[-1] > scene.frame_end:
        scene.frame_end = int(np.ceil(frames[-1]))
    return BakeResult(action, rep, sol, (float(frames[0]), float(frames[-1])), warnings=rigcheck.warnings(obj))


def fcurve_factory(action, obj):
    """A `new(data_path, index, group)` for this Blender: layered channelbag (4.4+) or legacy fcurves."""
    if hasattr(action, "layers") and hasattr(action, "slots"):
        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        strip = action.layers.new("PoseBake").strips.new(type="KEYFRAME")
        bag = strip.channelbag(slot, ensure=True)
        groups: dict[str, object] = {}

        def new(path: str, index: int, group: str):
            if group not in groups:
                groups[group] = bag.groups.new(group)
            fc = bag.fcurves.new(path, index=index)
            fc.group = groups[group]
            return fc
        return new, slot

    def new_legacy(path: str, index: int, group: str):
        return action.fcurves.new(path, index=index, action_group=group)
    return new_legacy, None


def put_keys(fc, frames: np.ndarray, values: np.ndarray) -> None:
    n = len(frames)
    fc.keyframe_points.add(n)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2], co[1::2] = frames, values
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", np.full(n, _LINEAR, dtype=np.int32))
    fc.update()


def write_action(action, obj, sol: Solution, frames: np.ndarray) -> None:
    """Fill `action` with rotation_quaternion curves per solved bone, location on the root bone and on
    detached bones (IK-style feet and hands, legs hung beside the pelvis)."""
    new, slot = fcurve_factory(action, obj)
    for name, q in sol.quats.items():
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].rotation_quaternion'
        for k in range(4):
            put_keys(new(path, k, name), frames, q[:, k])
    locations = {**sol.locations, sol.root_bone: sol.root_location}
    for name, loc in locations.items():
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].location'
        for k in range(3):
            put_keys(new(path, k, name), frames, loc[:, k])
    key_rest_channels(new, obj, set(sol.quats), set(locations), frames)


#: rotation channel and its rest value per pose-bone rotation mode
_REST_ROTATION = {"QUATERNION": ("rotation_quaternion", (1.0, 0.0, 0.0, 0.0)),
                  "AXIS_ANGLE": ("rotation_axis_angle", (0.0, 0.0, 1.0, 0.0))}


def _bones_to_hold(obj, keyed: set[str]) -> set[str]:
    """Bones whose unkeyed channels could move the pose away from the solve's: ancestors of keyed bones
    (the solve takes them at rest), bones posed now, and bones some NLA strip animates. Other bones are
    already at rest and nothing moves them, so they get no keys (a 700-bone control rig stays light)."""
    hold = set()
    for name in keyed:
        b = obj.data.bones.get(name)
        while b is not None and b.parent is not None:
            b = b.parent
            hold.add(b.name)
    for pb in obj.pose.bones:
        if not pb.matrix_basis.is_identity:
            hold.add(pb.name)
    ad = obj.animation_data
    for track in (ad.nla_tracks if ad else []):
        for strip in track.strips:
            act = strip.action
            curves = [fc for lay in getattr(act, "layers", []) for st in lay.strips for bag in st.channelbags
                      for fc in bag.fcurves] if act is not None and hasattr(act, "layers") else \
                list(getattr(act, "fcurves", []))
            for fc in curves:
                if fc.data_path.startswith('pose.bones["'):
                    hold.add(fc.data_path.split('"')[1])
    return hold


def key_rest_channels(new, obj, rotated: set[str], located: set[str], frames: np.ndarray) -> None:
    """Key the other channels of the bones that need it (`_bones_to_hold`) at their rest values, first and
    last frame, so the Action alone defines the pose the solve assumed: an imported character often arrives
    posed (glTF sets the first clip's pose) or with its clips as NLA tracks, which would otherwise show
    through on unkeyed bones (a root bone's offset, a body bone's tilt). Helper and twist bones then simply
    follow their parents."""
    ends = np.array([frames[0], frames[-1]]) if len(frames) > 1 else frames[:1]
    hold = _bones_to_hold(obj, rotated | located) | rotated | located
    for pb in obj.pose.bones:
        if pb.name not in hold:
            continue
        base = f'pose.bones["{bpy.utils.escape_identifier(pb.name)}"]'
        channels = [("scale", (1.0, 1.0, 1.0))]
        if pb.name not in located:
            channels.append(("location", (0.0, 0.0, 0.0)))
        if pb.name not in rotated:
            channels.append(_REST_ROTATION.get(pb.rotation_mode, ("rotation_euler", (0.0, 0.0, 0.0))))
        for prop, values in channels:
            for k, v in enumerate(values):
                put_keys(new(f"{base}.{prop}", k, pb.name), ends, np.full(len(ends), v))


def assign(obj, action, nla: bool = False, start: float = 1.0) -> None:
    """Make `action` the armature's animation (or push it to a new NLA track when `nla`)."""
    ad = obj.animation_data or obj.animation_data_create()
    slot = None
    if hasattr(action, "slots") and len(action.slots):
        slot = action.slots[0]
    if nla:
        track = ad.nla_tracks.new()
        track.name = action.name
        strip = track.strips.new(action.name, int(start), action)
        if slot is not None and hasattr(strip, "action_slot"):
            strip.action_slot = slot
        return
    ad.action = action
    if slot is not None and hasattr(ad, "action_slot"):
        ad.action_slot = slot
