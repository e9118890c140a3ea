"""Blender's own BVH importer on an exported file: frame range and posed bone heads."""
from __future__ import annotations


def import_bvh(path: str, frames_csv: str) -> dict:
    """Import `path` into an empty scene; world-space pose-bone heads at each of the given frames."""
    import bpy

    frames = [int(f) for f in frames_csv.split(",")]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=path, update_scene_duration=True)
    obj = bpy.context.object
    action = obj.animation_data.action
    out: dict = {"frame_range": list(action.frame_range), "bones": {}, "finite": True,
                 "scene": [bpy.context.scene.frame_start, bpy.context.scene.frame_end]}
    for f in frames:
        bpy.context.scene.frame_set(f)
        heads = {}
        for pb in obj.pose.bones:
            world = obj.matrix_world @ pb.head
            heads[pb.name] = list(world)
            out["finite"] &= all(v == v for v in list(world) + [x for row in pb.matrix for x in row])
        out["bones"][str(f)] = heads
    return out
