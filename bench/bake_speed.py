"""Bench: bake 10,000 frames x 60 bones (240 quaternion F-curves + root location) into a new Action.

Measures only `write_action` (the bulk keyframe write), the part that must stay fast on long clips;
target <= 2 s. Prints one markdown table row. Run: .venv/bin/python bench/bake_speed.py
(bpy may hang at exit, so the script ends with os._exit).
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "addon"))


def main(frames: int = 10_000, bones: int = 60) -> None:
    import bpy
    from posebake_blender.blender.bake import write_action
    from posebake_core.retarget.solve import Solution

    bpy.ops.wm.read_factory_settings(use_empty=True)
    data = bpy.data.armatures.new("bench")
    obj = bpy.data.objects.new("bench", data)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    for i in range(bones):
        b = data.edit_bones.new(f"bone_{i:02d}")
        b.head, b.tail = (0, 0, i * 0.1), (0, 0, i * 0.1 + 0.1)
    bpy.ops.object.mode_set(mode="OBJECT")
    rng = np.random.default_rng(0)
    q = rng.normal(size=(bones, frames, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    sol = Solution({f"bone_{i:02d}": q[i] for i in range(bones)}, "bone_00", rng.normal(size=(frames, 3)), 30.0, 1.0)
    action = bpy.data.actions.new("bench")
    t0 = time.perf_counter()
    write_action(action, obj, sol, np.arange(frames, dtype=float) + 1)
    dt = time.perf_counter() - t0
    keys = (bones * 4 + 3) * frames
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor())
    load1 = os.getloadavg()[0]
    print(f"| {frames} | {bones} | {keys:,} | {dt:.2f} | {'yes' if dt <= 2 else 'NO'} | "
          f"Blender {bpy.app.version_string} | {os.cpu_count()} x {cpu} | {load1:.2f} |")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
