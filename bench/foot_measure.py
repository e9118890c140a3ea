"""Read a baked .blend's feet back, inside pip bpy: `python bench/foot_measure.py BAKED.blend NAMES_JSON
OUT.json` (run by bench/foot_lock.py).

Per frame: the world position of each named bone head, and of each foot's heel and toe tip on the
deformed mesh. The heel and toe tip are picked at rest, as the ground-truth renderer picks its sites: the
rearmost and frontmost low vertices of the foot whose ankle (LeftFoot / RightFoot head) is nearer, front
being the ankle-to-toe direction. Also the rig's leg length and the named heads' rest heights.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np


def _mesh_points(mesh) -> np.ndarray:
    import bpy

    ev = mesh.evaluated_get(bpy.context.evaluated_depsgraph_get())
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3)
    me.vertices.foreach_get("co", co)
    mw = np.array(ev.matrix_world)
    ev.to_mesh_clear()
    return co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3]


def measure(blend: str, names: list[str]) -> dict:
    import bpy

    bpy.ops.wm.open_mainfile(filepath=blend)
    sc = bpy.context.scene
    arm = next(o for o in sc.objects if o.type == "ARMATURE")
    mesh = max((o for o in sc.objects if o.type == "MESH" and any(
        m.type == "ARMATURE" and m.object == arm for m in o.modifiers)), key=lambda o: len(o.data.vertices))
    b = arm.data.bones

    def rest(bone: str) -> np.ndarray:
        return np.array(arm.matrix_world @ b[bone].head_local)

    arm.data.pose_position = "REST"
    sc.frame_set(sc.frame_start)
    v = _mesh_points(mesh)
    arm.data.pose_position = "POSE"
    ankles = {s: rest(f"{s}Foot") for s in ("Left", "Right")}
    fwd = (rest("LeftToeBase") - ankles["Left"]) + (rest("RightToeBase") - ankles["Right"])
    fwd[2] = 0.0
    fwd /= np.linalg.norm(fwd)
    low = v[:, 2] < v[:, 2].min() + 0.04 * float(np.ptp(v[:, 2]))
    near_left = np.linalg.norm(v[:, :2] - ankles["Left"][:2], axis=1) < np.linalg.norm(
        v[:, :2] - ankles["Right"][:2], axis=1)
    sites = []
    for side in (low & near_left, low & ~near_left):
        cand = np.flatnonzero(side)
        sites += [int(cand[np.argmin(v[cand] @ fwd)]), int(cand[np.argmax(v[cand] @ fwd)])]  # heel, toe tip
    heads, soles = [], []
    for f in range(sc.frame_start, sc.frame_end + 1):
        sc.frame_set(f)
        heads.append([list(arm.matrix_world @ arm.pose.bones[n].head) for n in names])
        soles.append(_mesh_points(mesh)[sites].tolist())
    leg = sum(float(np.linalg.norm(rest(x) - rest(y))) for x, y in (("LeftUpLeg", "LeftLeg"), ("LeftLeg", "LeftFoot")))
    return {"points": heads, "soles": soles, "sole_names": ["left_heel", "left_toe_tip", "right_heel",
                                                              "right_toe_tip"], "soles_rest_z": v[sites, 2].tolist(),
            "leg": leg, "rest_z": [float(rest(n)[2]) for n in names]}


if __name__ == "__main__":
    out = measure(sys.argv[1], json.loads(sys.argv[2]))
    with open(sys.argv[3], "w") as fh:
        json.dump(out, fh)
    sys.stdout.flush()
    os._exit(0)
