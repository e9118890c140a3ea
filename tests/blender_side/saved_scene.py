"""Reading back what a headless bake saved: the baked Action, the matching camera, the scene."""
from __future__ import annotations

import json
import os

from tests.blender_side.fcurves import action_fcurves


def bake_info(blend: str) -> dict:
    """The baked Action's keys and the root bone's travel in a saved .blend."""
    import bpy
    import numpy as np

    bpy.ops.wm.open_mainfile(filepath=blend)
    sc = bpy.context.scene
    obj = [o for o in sc.objects if o.type == "ARMATURE"][0]
    act = obj.animation_data.action
    fcs = action_fcurves(act)
    co = []
    for fc in fcs:
        a = np.zeros(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", a)
        co.append(a.reshape(-1, 2))
    keys = np.concatenate(co)
    frames = np.unique(np.round(keys[:, 0], 4))
    root = [pb for pb in obj.pose.bones if pb.parent is None][0]
    pos = []
    for f in range(sc.frame_start, sc.frame_end + 1):
        sc.frame_set(f)
        pos.append(list(obj.matrix_world @ root.head))
    pos = np.array(pos)
    rest_h = float((obj.matrix_world @ obj.data.bones[root.name].head_local)[2])
    return {"action": act.name, "fcurves": len(fcs), "scene": [sc.frame_start, sc.frame_end],
            "key_frames": frames.tolist(), "finite": bool(np.isfinite(keys).all() and np.isfinite(pos).all()),
            "travel": float(np.linalg.norm(pos[-1, :2] - pos[0, :2])), "rest_height": rest_h}


def project_roles(blend: str, roles_json: str) -> dict:
    """The rig's role bones projected through the scene camera (and through two deliberately wrong ones)."""
    import bpy
    from bpy_extras.object_utils import world_to_camera_view

    import rigbuilder

    bpy.ops.wm.open_mainfile(filepath=blend)
    sc = bpy.context.scene
    cam = sc.camera
    arm = [o for o in sc.objects if o.type == "ARMATURE"][0]
    bones = rigbuilder.load_preset("mixamo")["bones"]
    roles = json.loads(roles_json)
    names = {r: (bones[r] if isinstance(bones[r], str) else bones[r][0]) for r in roles}
    w, h = sc.render.resolution_x, sc.render.resolution_y
    out = {"size": [w, h], "fps": sc.render.fps / sc.render.fps_base, "lens": cam.data.lens,
           "sensor_fit": cam.data.sensor_fit, "background": [b.source for b in cam.data.background_images],
           "clip": bool(cam.data.background_images and cam.data.background_images[0].clip),
           "animated": bool(cam.animation_data and cam.animation_data.action),
           "frame_start": sc.frame_start, "frame_end": sc.frame_end}

    def project(frames: list[int]) -> list:
        uv = []
        for f in frames:
            sc.frame_set(f)
            row = []
            for r in roles:
                c = world_to_camera_view(sc, cam, arm.matrix_world @ arm.pose.bones[names[r]].head)
                row.append([c.x * w, (1.0 - c.y) * h, c.z])
            uv.append(row)
        return uv

    frames = list(range(sc.frame_start, sc.frame_end + 1, 3))
    out["frames"] = frames
    out["good"] = project(frames)
    cam.data.lens *= 2.0  # wrong camera 1: doubled focal length
    out["long_lens"] = project(frames)
    cam.data.lens /= 2.0
    cam.data.shift_x += 0.15  # wrong camera 2: frame shifted sideways
    out["shifted"] = project(frames)
    return out


def cameras(*blends: str) -> dict:
    """Per saved .blend: its cameras, the scene camera, the render size and the background clip."""
    import bpy

    out = {}
    for path in blends:
        bpy.ops.wm.open_mainfile(filepath=path)
        sc = bpy.context.scene
        out[os.path.basename(path)] = {
            "cameras": [o.name for o in sc.objects if o.type == "CAMERA"],
            "scene_camera": sc.camera.name if sc.camera else None,
            "resolution": [sc.render.resolution_x, sc.render.resolution_y],
            "background": [b.source for b in sc.camera.data.background_images] if sc.camera else []}
    return out


def build_rig(preset: str, path: str, seed: str, legless: str) -> dict:
    """Save a test rig (tests/rigbuilder.py, A pose) as a .blend; `legless` "legless" removes its legs."""
    import bpy

    import rigbuilder

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig(preset, pose="A", seed=int(seed))
    if legless == "legless":  # too few mappable bones
        rigbuilder.remove_legs(rig)
    bpy.ops.wm.save_as_mainfile(filepath=path)
    return {"saved": path}


def usd_round_trip(blend: str, usd: str) -> dict:
    """The baked armature of a saved .blend against its USD export re-imported into an empty scene: frame
    range, key count, and every bone's world matrix on every frame."""
    import bpy
    import numpy as np

    def poses() -> tuple[list[int], dict[str, np.ndarray], int]:
        sc = bpy.context.scene
        arm = next(o for o in sc.objects if o.type == "ARMATURE")
        frames = list(range(sc.frame_start, sc.frame_end + 1))
        out = {pb.name: np.zeros((len(frames), 4, 4)) for pb in arm.pose.bones}
        for k, f in enumerate(frames):
            sc.frame_set(f)
            for pb in arm.pose.bones:
                out[pb.name][k] = np.array(arm.matrix_world @ pb.matrix)
        act = arm.animation_data.action
        keys = {round(kp.co[0], 3) for fc in action_fcurves(act) for kp in fc.keyframe_points}
        return frames, out, len(keys)

    bpy.ops.wm.open_mainfile(filepath=blend)
    f0, p0, k0 = poses()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.usd_import(filepath=usd)
    f1, p1, k1 = poses()
    common = sorted(set(p0) & set(p1))

    def rot(m: np.ndarray) -> np.ndarray:
        return m[..., :3, :3] / np.linalg.norm(m[..., :3, :3], axis=-2, keepdims=True)

    return {"frames": [len(f0), len(f1)], "keyed_frames": [k0, k1], "bones": [len(p0), len(p1), len(common)],
            "rot_err": float(max(np.abs(rot(p0[n]) - rot(p1[n])).max() for n in common)),
            "pos_err": float(max(np.abs(p0[n][..., :3, 3] - p1[n][..., :3, 3]).max() for n in common))}
