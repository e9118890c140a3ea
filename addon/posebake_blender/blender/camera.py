"""A Blender camera that sees the baked character as the video camera saw the person.

The bake maps camera-space joints to a Z-up world (`posebake_core.retarget.world.to_world`: pan removed with the
per-frame `camera_rotation`, then a floor-aligned rotation R and origin), then into the armature's space,
where the solve scales everything by the rig/source leg ratio about the armature origin. The camera must
go through the *same* chain, or it will not line up: its centre is the camera-space origin mapped through
that chain (a uniform scale about any point leaves a perspective image unchanged when the camera centre
is scaled with it), and its orientation is R @ camera_rotation[t] (scaling does not rotate). So the code
below re-runs the add-on's own mapping (`prepare.prepared_joints` + `world.to_world`) rather than
re-deriving it. Intrinsics come from K: focal length in mm on a 36 mm sensor across the longer image side.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from posebake_core.motion import Motion
from posebake_core.retarget.canonical import from_blazepose
from posebake_core.retarget.prepare import BakeOptions, frame_slice, prepared_joints
from posebake_core.retarget.world import to_world

from .bake import BakeResult, assign, fcurve_factory, match_scene_fps, put_keys

SENSOR_MM = 36.0
_CV_TO_BLENDER = np.diag([1.0, -1.0, -1.0])  # OpenCV camera axes (y down, z forward) -> Blender's (y up, -z)
_STATIC_TOL = 1e-5  # matrix entries / metres: below this the camera is treated as static (no Action)


def camera_world_path(mf: Motion, opts: BakeOptions, result: BakeResult,
                      arm_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame camera (T,3) centres and (T,3,3) Blender-axes rotations in Blender world space.

    Mirrors the bake: `prepared_joints` -> `to_world` (world = R (C_t p - origin)) -> in-place drift (when
    root motion is off) -> armature space -> the solve's leg-ratio scale (or `unscaled_root`'s mix when
    scale-to-rig is off) -> back to Blender world through the armature's matrix."""
    joints = prepared_joints(mf, opts)
    wm = to_world(joints, level_feet=True)
    T = len(joints)
    sl = frame_slice(mf, opts)
    pan = mf.camera_rotation[sl].astype(np.float64)
    centre = np.broadcast_to(-wm.rotation @ wm.origin, (T, 3)).copy()  # camera origin in the Z-up world
    hips = from_blazepose(wm.joints, mf.fps).joints["hips"]
    if not opts.root_motion:  # `prepare.in_place` slid the person back; slide the camera with them
        drift = hips - hips[:1]
        drift[:, 2] = 0.0
        centre -= drift
        hips = hips - drift
    world_to_arm = np.linalg.inv(arm_matrix)
    c_arm = centre @ world_to_arm[:3, :3].T + world_to_arm[:3, 3]
    s = float(result.solution.scale)
    c_arm = s * c_arm
    if not opts.scale_to_rig:
        # `unscaled_root` adds (1 - s) x the mid-hip's horizontal travel to the rig-sized body; the camera
        # gets the same per-frame offset, so each frame's view is still the video's view scaled by s. (No
        # single static camera can match a rig-sized body that travels the video's metres.)
        up = world_to_arm[:3, :3] @ np.array([0.0, 0.0, 1.0])
        up /= np.linalg.norm(up)
        h_arm = hips @ world_to_arm[:3, :3].T + world_to_arm[:3, 3]
        d = h_arm - h_arm[:1]
        c_arm = c_arm + (1.0 - s) * (d - np.outer(d @ up, up))
    c_world = c_arm @ arm_matrix[:3, :3].T + arm_matrix[:3, 3]
    rot = np.einsum("ij,tjk,kl->til", wm.rotation, pan, _CV_TO_BLENDER)
    return c_world, rot


def set_intrinsics(cam_data, K: np.ndarray, size: tuple[int, int]) -> None:
    """Lens, sensor fit and shift from K. The 36 mm sensor lies across the longer side (Blender's AUTO fit
    does the same), so a portrait video keeps its field of view instead of being cropped to landscape."""
    w, h = size
    fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
    cam_data.sensor_width = SENSOR_MM
    cam_data.sensor_height = SENSOR_MM
    if w >= h:
        cam_data.sensor_fit = "HORIZONTAL"
        cam_data.lens = fx * SENSOR_MM / w
    else:
        cam_data.sensor_fit = "VERTICAL"
        cam_data.lens = fy * SENSOR_MM / h
    big = float(max(w, h))
    cam_data.shift_x = (w / 2.0 - cx) / big  # zero for the Motion contract's centred principal point
    cam_data.shift_y = (cy - h / 2.0) / big


def _key_camera(obj, frames: np.ndarray, centres: np.ndarray, rots: np.ndarray) -> None:
    """Static camera: one transform, no Action. Moving camera (pan, or in-place / unscaled drift): linear
    location and Euler keys on every baked frame, written in bulk like the armature's (`bake.put_keys`), so a
    long clip costs no more than its armature bake. Eulers are made continuous frame to frame."""
    prev = None
    eulers = []
    for R in rots:
        m = Matrix(R.tolist())
        prev = m.to_euler("XYZ", prev) if prev is not None else m.to_euler("XYZ")
        eulers.append(tuple(prev))
    eul = np.array(eulers)
    obj.rotation_mode = "XYZ"
    obj.location = centres[0].tolist()
    obj.rotation_euler = eul[0].tolist()
    if np.abs(rots - rots[:1]).max() <= _STATIC_TOL and np.abs(centres - centres[:1]).max() <= _STATIC_TOL:
        return
    action = bpy.data.actions.new(f"{obj.name}_posebake")
    new, _slot = fcurve_factory(action, obj)
    for path, values in (("location", centres), ("rotation_euler", eul)):
        for k in range(3):
            put_keys(new(path, k, "Object Transforms"), frames, values[:, k])
    assign(obj, action)


def _background(cam_obj, mf: Motion, scene_start: float, video_first: int) -> bool:
    """Show the source video behind the camera, frame-aligned with the bake; False when it is gone."""
    src = Path(mf.source_video) if mf.source_video else None
    if src is None or not src.is_file():
        return False
    clip = bpy.data.movieclips.load(str(src.resolve()), check_existing=True)
    clip.frame_start = int(round(scene_start)) - int(video_first)  # scene frame of video frame 0
    cam = cam_obj.data
    cam.show_background_images = True
    bg = cam.background_images.new()
    bg.source = "MOVIE_CLIP"
    bg.clip = clip
    bg.clip_user.use_render_undistorted = False
    bg.alpha = 1.0
    return True


#: Custom property naming the armature a PoseBake camera was made for (re-bakes replace that camera).
CAMERA_FOR = "posebake_camera_for"


def _remove_previous(obj) -> None:
    """Delete the camera an earlier bake made for `obj`, so re-baking does not pile up cameras. Only objects
    PoseBake tagged are touched; their Action and camera data go too when nothing else uses them."""
    for old in [o for o in bpy.data.objects if o.type == "CAMERA" and o.get(CAMERA_FOR) == obj.name]:
        data = old.data
        action = old.animation_data.action if old.animation_data else None
        bpy.data.objects.remove(old)
        if data is not None and data.users == 0:
            bpy.data.cameras.remove(data)
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)


def create_camera(obj, mf: Motion, opts: BakeOptions, result: BakeResult,
                  name: str = "PoseBake Camera") -> dict:
    """Add the video camera for a finished bake of `obj` (replacing the one an earlier bake made for it),
    make it the scene camera, set render size and rate to the video's; returns plain facts for the CLI."""
    scene = bpy.context.scene
    centres, rots = camera_world_path(mf, opts, result, np.array(obj.matrix_world))
    data = bpy.data.cameras.new(name)
    set_intrinsics(data, mf.K, mf.image_size)
    data.clip_start = 0.01
    data.clip_end = max(1000.0, float(np.linalg.norm(centres[0] - np.array(obj.matrix_world.translation))) * 10)
    cam_obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(cam_obj)
    f0, f1 = result.frame_range
    frames = np.linspace(f0, f1, len(centres)) if len(centres) > 1 else np.array([f0])
    _key_camera(cam_obj, frames, centres, rots)
    scene.camera = cam_obj
    scene.render.resolution_x, scene.render.resolution_y = int(mf.image_size[0]), int(mf.image_size[1])
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    match_scene_fps(scene, mf.fps)
    video_first = mf.frame_start + frame_slice(mf, opts).start
    has_bg = _background(cam_obj, mf, f0, video_first)
    anim = cam_obj.animation_data is not None and cam_obj.animation_data.action is not None
    _remove_previous(obj)  # only once the new camera is complete: a failure above keeps the old one
    cam_obj[CAMERA_FOR] = obj.name
    return {"camera": cam_obj.name, "camera_lens": float(data.lens), "camera_animated": bool(anim),
            "camera_background": has_bg, "video_first": int(video_first)}
