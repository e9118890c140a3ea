"""Compare Blender versions: bake the CMU walk onto the shared CMU character, export FBX and GLB, re-import
each into an empty scene and measure how far the re-imported bone heads are from the baked ones.

Also forces the legacy `action.fcurves` path of `write_action` (the one Blender < 4.4 takes) where the
running Blender still has `Action.fcurves`, and checks it poses the rig exactly like the layered path.
Prints one JSON object. Run with each interpreter, e.g.
  timeout 300 .venv/bin/python bench/blender_versions.py
  timeout 300 .venv-bpy45/bin/python bench/blender_versions.py
(bpy may hang at exit, so the script ends with os._exit).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "addon")]
DATA = Path(os.environ.get("POSEBAKE_DATA", "/work/shared/data"))
CHAR = DATA / "characters" / "cmu_skeleton_basemesh_female.glb"
BVH = DATA / "mocap_bvh" / "cmu_walk_delfem2.bvh"
BONES = ["Hips", "LeftFoot", "RightFoot", "LeftHand", "RightHand", "Head"]


def main() -> None:
    import bpy
    from posebake_dev.mocap import Y_UP_TO_Z_UP as P, forward_kinematics, read_bvh
    from posebake_blender.blender import bake as bake_mod
    from posebake_core.retarget.canonical import from_cmu

    out: dict = {"blender": bpy.app.version_string}
    m = read_bvh(str(BVH))
    pos, glob = forward_kinematics(m)
    canon = from_cmu(m.names, pos @ P.T, P @ glob @ P.T, m.fps)
    canon.fps = 120.0

    def fresh():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        sc = bpy.context.scene
        sc.render.fps, sc.frame_start, sc.frame_end = 120, 1, 10
        return sc

    def armature():
        return [o for o in bpy.data.objects if o.type == "ARMATURE"][0]

    def heads(obj, frames):
        res = np.zeros((len(frames), len(BONES), 3))
        for a, f in enumerate(frames):
            bpy.context.scene.frame_set(int(f))
            for b, n in enumerate(BONES):
                res[a, b] = obj.matrix_world @ obj.pose.bones[n].head
        return res

    def n_fcurves(act):
        if hasattr(act, "layers") and len(act.layers):
            return sum(len(bag.fcurves) for lay in act.layers for st in lay.strips for bag in st.channelbags)
        return len(act.fcurves)

    fresh()
    bpy.ops.import_scene.gltf(filepath=str(CHAR))
    arm = armature()
    t0 = time.perf_counter()
    r = bake_mod.bake(arm, canon, None, foot_lock=False)
    out["bake_s"] = round(time.perf_counter() - t0, 3)
    out["fcurve_api"] = "layered" if hasattr(r.action, "layers") else "legacy"
    out["has_action_fcurves"] = hasattr(r.action, "fcurves")
    out["fcurves"] = n_fcurves(r.action)
    out["units_per_metre"] = round(float(r.solution.scale), 4)
    f0, f1 = r.frame_range
    frames = list(range(int(f0), int(f1) + 1, 11))
    ref = heads(arm, frames)

    if hasattr(r.action, "fcurves"):  # force the pre-4.4 path on the same rig
        saved = bake_mod._fcurve_factory
        bake_mod._fcurve_factory = lambda action, obj: (
            lambda path, index, group: action.fcurves.new(path, index=index, action_group=group), None)
        try:
            rl = bake_mod.bake(arm, canon, None, foot_lock=False, action_name="legacy")
        finally:
            bake_mod._fcurve_factory = saved
        out["legacy_fcurves"] = n_fcurves(rl.action)
        out["legacy_vs_layered_max"] = float(np.abs(heads(arm, frames) - ref).max())
        bpy.data.actions.remove(rl.action)
        arm.animation_data.action = r.action
        if hasattr(arm.animation_data, "action_slot") and len(r.action.slots):
            arm.animation_data.action_slot = r.action.slots[0]
    else:
        out["legacy_fcurves"] = None

    tmp = Path(tempfile.mkdtemp())
    # the same export calls as headless.py (`posebake bake --fbx/--glb`), plus FBX without key simplification
    exports = {
        "fbx": lambda p: bpy.ops.export_scene.fbx(filepath=p, add_leaf_bones=False, bake_anim=True,
                                                  bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False),
        "fbx_nosimplify": lambda p: bpy.ops.export_scene.fbx(filepath=p, add_leaf_bones=False, bake_anim=True,
                                                             bake_anim_use_all_actions=False,
                                                             bake_anim_use_nla_strips=False,
                                                             bake_anim_simplify_factor=0.0),
        "glb": lambda p: bpy.ops.export_scene.gltf(filepath=p, export_format="GLB", export_animations=True),
    }
    for kind, export in exports.items():
        path = tmp / f"{kind}.{kind[:3]}"
        t0 = time.perf_counter()
        try:
            export(str(path))
        except Exception as e:  # noqa: BLE001 - reported, not raised
            out[kind] = {"error": repr(e)}
            continue
        out[kind] = {"export_s": round(time.perf_counter() - t0, 2), "bytes": path.stat().st_size}
    # re-import each file into an empty scene and compare world-space bone heads (in the baked units)
    for kind in exports:
        if "error" in out[kind]:
            continue
        sc = fresh()
        sc.frame_start, sc.frame_end = 1, 10
        if kind.startswith("fbx"):
            bpy.ops.import_scene.fbx(filepath=str(tmp / f"{kind}.fbx"))
        else:
            bpy.ops.import_scene.gltf(filepath=str(tmp / f"{kind}.glb"))
        a2 = armature()
        act = a2.animation_data.action if a2.animation_data else None
        out[kind]["actions"] = len(bpy.data.actions)
        out[kind]["action_range"] = [float(x) for x in act.frame_range] if act else None
        if act is None:
            continue
        shift = act.frame_range[0] - f0  # importers may start the clip on a different frame
        got = heads(a2, [f + shift for f in frames])
        out[kind]["max_head_diff"] = float(np.abs(got - ref).max())
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        print(traceback.format_exc())
    sys.stdout.flush()
    os._exit(0)
