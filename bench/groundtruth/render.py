"""Render a ground-truth clip: CMU mocap on the skinned CMU character, seen by a known camera.

    python bench/groundtruth/render.py --motion FILE.bvh|FILE.amc [--asf FILE.asf] --camera PRESET \
        --size 640x480 --seconds S --start SEC -o OUTDIR/NAME [--mask]

Writes NAME.mp4 (H.264, 30 fps), NAME_gt.npz (schema "posebake.groundtruth/1", see `write_gt`) and with
--mask NAME_mask.npz (the character's silhouette per frame, bit-packed). The ground truth is read back
from the evaluated armature, mesh and camera in Blender for each frame that is rendered, so it is what is
on screen whatever the motion transfer did. Run with pip bpy (headless); the process ends with
os._exit because pip bpy can hang at interpreter exit.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

import cameras  # noqa: E402
import scene as sc  # noqa: E402
from posebake_core.atomic import atomic_path  # noqa: E402
from posebake_core.errors import PoseBakeError  # noqa: E402
from posebake_dev.mocap import CMU_UNIT_M, Y_UP_TO_Z_UP, read_amc, read_asf, read_bvh, resample  # noqa: E402
from posebake_dev.mocap.retarget import (CMU_BONES, character_leg_length, cmu_parents, delta_rotations,  # noqa: E402
                                     leg_length, pose_basis)
from posebake.paths import shared_data  # noqa: E402

FPS = 30
SCHEMA = "posebake.groundtruth/1"
CHARACTER = "characters/cmu_skeleton_basemesh_female.glb"
SITE_NAMES = ["head_top", "left_heel", "right_heel", "left_toe_tip", "right_toe_tip"]


def load_clip(motion_path: Path, asf: Path | None, start: float, seconds: float):
    """The requested window of the motion, resampled to 30 fps, plus a description of its source."""
    if not motion_path.is_file():
        raise PoseBakeError(f"motion file not found: {motion_path}")
    if motion_path.suffix.lower() == ".bvh":
        motion = read_bvh(motion_path)
    elif motion_path.suffix.lower() == ".amc":
        asf = asf or motion_path.with_name(motion_path.stem.split("_")[0] + ".asf")
        if not asf.is_file():
            raise PoseBakeError(f"no ASF skeleton for {motion_path.name}: pass --asf")
        motion = read_amc(motion_path, read_asf(asf))
    else:
        raise PoseBakeError(f"unsupported motion file (want .bvh or .amc): {motion_path}")
    i0 = int(round(start * motion.fps))
    i1 = i0 + int(round(seconds * motion.fps))
    if start < 0 or seconds <= 0 or i1 >= motion.num_frames:
        raise PoseBakeError(f"{motion_path.name} has {motion.duration:.2f} s; cannot take {seconds} s from {start} s")
    n = int(round(seconds * FPS))
    clip = resample(motion.slice(i0, i1 + 1), FPS).slice(0, n)
    last = i0 + int(round((n - 1) * motion.fps / FPS))  # the last source frame the clip samples
    return clip, f"{motion_path.name} frames {i0}-{last} at {motion.fps:.0f} fps"


def pose_character(arm, clip) -> np.ndarray:
    """Keyframe the armature for every clip frame (scene frames 1..T); return the heading (x, y).

    The heading is the direction of travel, or the facing direction for motions done on the spot,
    in armature axes; `place_armature` turns it to +X.
    """
    bones = [arm.data.bones[name] for name in CMU_BONES]
    rest = np.array([np.array(b.matrix_local)[:3, :3] for b in bones])
    heads = np.array([np.array(b.head_local) for b in bones])
    D = delta_rotations(clip, heads)
    quats = pose_basis(D, rest, cmu_parents())
    # root travel scaled by leg length so strides fit the character's legs (armature units)
    ratio = character_leg_length(heads) / max(leg_length(clip), 1e-6)
    trans = clip.root_translation @ Y_UP_TO_Z_UP.T * ratio - heads[0]
    locs = trans @ rest[0]  # root basis translation = R_rest^T (p - h_rest)
    for t in range(clip.num_frames):
        for j, name in enumerate(CMU_BONES):
            pb = arm.pose.bones[name]
            pb.rotation_quaternion = quats[t, j]
            pb.keyframe_insert("rotation_quaternion", frame=t + 1)
        root = arm.pose.bones[CMU_BONES[0]]
        root.location = locs[t]
        root.keyframe_insert("location", frame=t + 1)
    heading = (trans[-1, :2] - trans[0, :2]) / ratio
    if np.linalg.norm(heading) < 0.3:  # on the spot: the character faces -Y at rest
        heading = (D[:, 0] @ np.array([0.0, -1.0, 0.0])).mean(0)[:2]
    return heading


def place_armature(arm, body, heading: np.ndarray, n_frames: int) -> None:
    """Scale to metres, turn the heading to +X, centre the root track on the origin, soles on z = 0."""
    scene = bpy.context.scene
    arm.scale = (CMU_UNIT_M,) * 3
    arm.rotation_mode = "XYZ"  # the glTF importer leaves objects in quaternion mode
    arm.rotation_euler = (0.0, 0.0, -math.atan2(heading[1], heading[0]))
    arm.location = (0.0, 0.0, 0.0)
    roots, lowest = [], np.inf
    for f in range(1, n_frames + 1):
        scene.frame_set(f)
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        roots.append(np.array(ev.matrix_world @ ev.pose.bones["Hips"].head))
        lowest = min(lowest, float(sc.mesh_vertices(body)[:, 2].min()))
    mean_xy = np.array(roots)[:, :2].mean(0)
    arm.location = (-mean_xy[0], -mean_xy[1], -lowest)


def site_vertices(body, arm) -> np.ndarray:
    """Mesh vertex indices for SITE_NAMES, picked in the rest pose.

    Head top: the highest vertex. Heels: the rearmost vertex of each foot's sole region. Toe tips: the
    frontmost vertex of each foot. A sole vertex belongs to the foot whose ankle (the LeftFoot / RightFoot
    bone head) is nearer, and front is the ankle-to-toe direction: sides and facing come from the
    skeleton, not from an assumed axis (an assumed "left is +X" put every left_* site on the right foot of
    the clips rendered before 2026-12-01; their files were relabelled, see bench/groundtruth/README.md).
    """
    v = sc.mesh_vertices(body)
    z0 = v[:, 2].min()
    low = v[:, 2] < z0 + 0.04

    def head(bone: str) -> np.ndarray:
        return np.array(arm.matrix_world @ arm.data.bones[bone].head_local)

    ankles = {s: head(f"{s}Foot") for s in ("Left", "Right")}
    fwd = (head("LeftToeBase") - ankles["Left"]) + (head("RightToeBase") - ankles["Right"])
    fwd[2] = 0.0
    fwd /= np.linalg.norm(fwd)
    near_left = np.linalg.norm(v[:, :2] - ankles["Left"][:2], axis=1) < np.linalg.norm(
        v[:, :2] - ankles["Right"][:2], axis=1)
    left, right = low & near_left, low & ~near_left
    along = v @ fwd
    idx = [int(np.argmax(v[:, 2]))]
    for side in (left, right):
        cand = np.flatnonzero(side)
        idx.append(int(cand[np.argmin(along[cand])]))
    for side in (left, right):
        cand = np.flatnonzero(side)
        idx.append(int(cand[np.argmax(along[cand])]))
    return np.array(idx)


def keyframe_camera(cam, rots: np.ndarray, eyes: np.ndarray) -> None:
    from mathutils import Matrix
    cam.rotation_mode = "QUATERNION"
    for t in range(len(eyes)):
        cam.location = eyes[t]
        cam.rotation_quaternion = Matrix(rots[t].tolist()).to_quaternion()
        cam.keyframe_insert("location", frame=t + 1)
        cam.keyframe_insert("rotation_quaternion", frame=t + 1)


def read_ground_truth(arm, body, cam, sites: np.ndarray, n_frames: int) -> dict[str, np.ndarray]:
    """Per frame: bone heads, mesh sites and the camera pose, all from the evaluated scene."""
    scene = bpy.context.scene
    joints, site_pos, cam_R, cam_t = [], [], [], []
    for f in range(1, n_frames + 1):
        scene.frame_set(f)
        dg = bpy.context.evaluated_depsgraph_get()
        a = arm.evaluated_get(dg)
        mw = a.matrix_world
        joints.append([np.array(mw @ a.pose.bones[n].head) for n in CMU_BONES])
        site_pos.append(sc.mesh_vertices(body)[sites])
        c = np.array(cam.evaluated_get(dg).matrix_world)
        rot = c[:3, :3] / np.linalg.norm(c[:3, :3], axis=0)
        R, tvec = cameras.world_to_cv(rot, c[:3, 3])
        cam_R.append(R)
        cam_t.append(tvec)
    return {"joints_world": np.array(joints), "sites_world": np.array(site_pos),
            "cam_R": np.array(cam_R), "cam_t": np.array(cam_t)}


def render_video(scene, out_mp4: Path, n_frames: int) -> float:
    """Render frames 1..n to an H.264 MP4 at out_mp4; return seconds per frame."""
    scene.frame_start, scene.frame_end = 1, n_frames
    with tempfile.TemporaryDirectory(dir=out_mp4.parent) as tmp:
        sc.set_video_output(scene, Path(tmp) / "video.mp4", FPS)
        t0 = time.perf_counter()
        bpy.ops.render.render(animation=True)
        per_frame = (time.perf_counter() - t0) / n_frames
        made = sorted(Path(tmp).glob("*.mp4"))
        if not made:
            raise PoseBakeError("Blender wrote no video (is FFmpeg H.264 available in this bpy build?)")
        shutil.move(str(made[0]), out_mp4)
    return per_frame


def render_mask(scene, n_frames: int, hide: list) -> np.ndarray:
    """(T, H, W) bool silhouettes: one-sample Cycles render with only the character, transparent film."""
    import cv2
    for o in hide:
        o.hide_render = True
    scene.render.film_transparent = True
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.render.filter_size = 0.01
    with tempfile.TemporaryDirectory() as tmp:
        sc.set_png_output(scene, str(Path(tmp) / "m_####"))
        bpy.ops.render.render(animation=True)
        frames = [cv2.imread(str(Path(tmp) / f"m_{f:04d}.png"), cv2.IMREAD_UNCHANGED)[..., 3] > 127
                  for f in range(1, n_frames + 1)]
    return np.array(frames)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--motion", required=True, type=Path)
    ap.add_argument("--asf", type=Path)
    ap.add_argument("--camera", required=True, choices=sorted(cameras.PRESETS))
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--start", type=float, default=0.0)
    ap.add_argument("-o", "--output", required=True, type=Path, help="OUTDIR/NAME (no extension)")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="varies the clothing colours")
    ap.add_argument("--mask", action="store_true", help="also write NAME_mask.npz")
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise PoseBakeError(f"--size must look like 640x480, got {args.size!r}") from None
    out = args.output
    if not out.parent.is_dir():
        raise PoseBakeError(f"output directory does not exist: {out.parent}")
    preset = cameras.PRESETS[args.camera]
    clip, source = load_clip(args.motion, args.asf, args.start, args.seconds)
    T = clip.num_frames

    scene = sc.reset_scene()
    arm, body = sc.import_character(shared_data() / CHARACTER)
    arm.scale = (CMU_UNIT_M,) * 3
    bpy.context.view_layer.update()
    subject_height = float(np.ptp(sc.mesh_vertices(body)[:, 2]))  # rest pose: standing, legs straight
    sites = site_vertices(body, arm)
    heading = pose_character(arm, clip)
    place_armature(arm, body, heading, T)
    sc.character_look(body, args.seed)
    sc.ground_and_backdrop(preset)
    sc.lights_and_world(preset)
    sc.render_settings(scene, w, h, args.samples, args.threads)
    cam = sc.add_camera(preset.lens_mm, cameras.SENSOR_WIDTH_MM)

    track = []
    for f in range(1, T + 1):
        scene.frame_set(f)
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        track.append(np.array(ev.matrix_world @ ev.pose.bones["Hips"].head)[:2])
    rots, eyes = cameras.camera_path(preset, np.array(track), w, h, body_height=subject_height, fps=FPS)
    keyframe_camera(cam, rots, eyes)

    gt = read_ground_truth(arm, body, cam, sites, T)
    K = cameras.intrinsics(cam.data.lens, w, h, cam.data.sensor_width)
    to_cam = lambda X: np.einsum("tij,tnj->tni", gt["cam_R"], X) + gt["cam_t"][:, None]  # noqa: E731
    joints_cam, sites_cam = to_cam(gt["joints_world"]), to_cam(gt["sites_world"])
    uv = cameras.project(np.concatenate([joints_cam, sites_cam], 1), K)
    outside = np.mean((uv[..., 0] < 0) | (uv[..., 0] > w - 1) | (uv[..., 1] < 0) | (uv[..., 1] > h - 1))
    if outside > 0:
        print(f"warning: {outside:.1%} of projected joints fall outside the image", flush=True)

    with atomic_path(out.with_name(out.name + ".mp4")) as tmp_mp4:
        per_frame = render_video(scene, tmp_mp4, T)
        mask = render_mask(scene, T, [bpy.data.objects[n] for n in ("ground", "backdrop")
                                      if n in bpy.data.objects]) if args.mask else None
        if mask is not None:
            with atomic_path(out.with_name(out.name + "_mask.npz")) as tmp_mask:
                np.savez_compressed(tmp_mask, mask_bits=np.packbits(mask, axis=-1), shape=np.array(mask.shape))
        with atomic_path(out.with_name(out.name + "_gt.npz")) as tmp_gt:
            np.savez_compressed(
                tmp_gt, schema=SCHEMA, joint_names=np.array(CMU_BONES),
                joints_world=gt["joints_world"].astype(np.float32), joints_cam=joints_cam.astype(np.float32),
                site_names=np.array(SITE_NAMES), sites_world=gt["sites_world"].astype(np.float32),
                sites_cam=sites_cam.astype(np.float32), K=K, cam_R=gt["cam_R"], cam_t=gt["cam_t"],
                fps=np.float64(FPS), image_size=np.array([w, h]), subject_height=np.float64(subject_height),
                source=np.array(source), camera=np.array(args.camera), lens_mm=np.float64(cam.data.lens))
    print(f"rendered {T} frames at {w}x{h}: {per_frame:.2f} s/frame -> {out}.mp4", flush=True)


def main(argv: list[str]) -> int:
    try:
        run(parse_args(argv))
    except PoseBakeError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pip bpy can hang in its atexit handlers
