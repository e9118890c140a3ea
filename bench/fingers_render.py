"""bpy child of bench/fingers.py: render chosen frames of a baked .blend through its video camera at a given
height (RGBA PNGs, the add-on's own preview renderer). Run: python fingers_render.py BLEND OUT_DIR HEIGHT F..."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "addon"))


def main(blend: str, out_dir: str, height: str, *frames: str) -> None:
    import bpy

    from posebake_blender.blender.preview import render_frames

    bpy.ops.wm.open_mainfile(filepath=blend)
    render_frames(bpy.context.scene, [int(f) for f in frames], out_dir, height=int(height))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(*sys.argv[1:])
