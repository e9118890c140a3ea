"""Measure one headless bake against its video, inside pip bpy: `python bench/rig_measure.py BAKED.blend
MOTION.npz TRACK RESULT.json [PRESET]` (run by bench/rigs.py).

Projects the baked rig's hips, knees, ankles, shoulders, elbows and wrists through the created camera and
compares them with the Motion's 2D landmarks (median over frames and joints, as a fraction of the image
height); checks that every mapped bone keeps its rest length; and compares the deformed mesh's projected
2D box with the box of the person's landmarks (IoU).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "addon")]

#: role whose first bone's head is the joint -> BlazePose landmark of that joint
ROLE_LANDMARK = {"thigh.L": 23, "thigh.R": 24, "shin.L": 25, "shin.R": 26, "foot.L": 27, "foot.R": 28,
                 "upper_arm.L": 11, "upper_arm.R": 12, "forearm.L": 13, "forearm.R": 14, "hand.L": 15,
                 "hand.R": 16}


def measure(blend: str, motion_path: str, track: int, preset: str | None = None) -> dict:
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    from posebake_core.motion import Motion

    from posebake_blender.blender.bake import map_rig

    bpy.ops.wm.open_mainfile(filepath=blend)
    sc = bpy.context.scene
    cam = sc.camera
    arm = next(o for o in sc.objects if o.type == "ARMATURE" and o.animation_data and o.animation_data.action)
    _rest, rep = map_rig(arm, preset)  # the bake's own mapping (preset, names, or shape)
    mapped = sorted({b for bones in rep.mapping.values() for b in bones})
    meshes = [o for o in sc.objects if o.type == "MESH" and any(
        m.type == "ARMATURE" and m.object == arm for m in o.modifiers)]
    motion = Motion.load(motion_path)
    w, h = sc.render.resolution_x, sc.render.resolution_y
    first_video = motion.frame_start
    errs, ious, stretch = [], [], 0.0
    rest_len = {b: arm.data.bones[b].length for b in mapped}

    def project(p) -> np.ndarray:
        c = world_to_camera_view(sc, cam, Vector(tuple(p)))
        return np.array([c.x * w, (1.0 - c.y) * h])

    for f in range(sc.frame_start, sc.frame_end + 1):
        t = f - sc.frame_start + (first_video - motion.frame_start)
        if not 0 <= t < motion.num_frames:
            continue
        sc.frame_set(f)
        lm = motion.joints_2d[track, t]
        for role, j in ROLE_LANDMARK.items():
            bones = rep.mapping.get(role)
            if bones and np.isfinite(lm[j]).all():
                uv = project(arm.matrix_world @ arm.pose.bones[bones[0]].head)
                errs.append(float(np.linalg.norm(uv - lm[j]) / h))
        for b in mapped:
            pb = arm.pose.bones[b]
            if rest_len[b] > 1e-9:
                stretch = max(stretch, abs((pb.tail - pb.head).length / rest_len[b] - 1.0))
        if meshes and np.isfinite(lm).all(-1).sum() > 10 and f % 5 == 0:
            dg = bpy.context.evaluated_depsgraph_get()
            pts = []
            for o in meshes:
                ev = o.evaluated_get(dg)
                me = ev.to_mesh()
                co = np.empty(len(me.vertices) * 3, dtype=np.float64)
                me.vertices.foreach_get("co", co)
                mw = np.array(ev.matrix_world)
                pts.append(co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3])
                ev.to_mesh_clear()
            allp = np.concatenate(pts)
            sample = allp[:: max(1, len(allp) // 2000)]
            uv = np.array([project(p) for p in sample])
            box = np.r_[uv.min(0), uv.max(0)]
            ok = lm[np.isfinite(lm).all(-1)]
            ref = np.r_[ok.min(0), ok.max(0)]
            ious.append(_iou(box, ref))
    return {"armature": arm.name, "preset": rep.preset, "guessed": sorted(rep.guessed),
            "median_err_frac": float(np.median(errs)) if errs else None, "joint_samples": len(errs),
            "max_stretch": stretch, "mesh_iou_median": float(np.median(ious)) if ious else None,
            "meshes": len(meshes), "image": [w, h]}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)
    return inter / union if union > 0 else 0.0


if __name__ == "__main__":
    out: dict = {}
    try:
        out = measure(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5] if len(sys.argv) > 5 else None)
    except Exception:  # noqa: BLE001 - reported to the caller
        import traceback
        out = {"error": traceback.format_exc()}
    with open(sys.argv[4], "w") as fh:
        json.dump(out, fh, indent=1)
    sys.stdout.flush()
    os._exit(0)
