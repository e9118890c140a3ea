"""The add-on's Motion reading inside bpy: what the panel and the bake do with each file."""
from __future__ import annotations

import json


def read_files(paths_json: str) -> dict:
    """{path: {"accepted": bool, "error": message}} for each file, read the way the add-on reads it
    (`blender.apply.load_motion`, which goes through the core's one reader), plus which core was used."""
    import bpy  # noqa: F401 - prove this runs inside Blender
    import posebake_core
    from posebake_blender.blender.apply import load_motion
    from posebake_blender.blender.bake import BakeError

    out: dict = {}
    for path in json.loads(paths_json):
        try:
            mf = load_motion(path)
            out[path] = {"accepted": True, "error": "", "tracks": mf.num_tracks}
        except BakeError as exc:
            out[path] = {"accepted": False, "error": str(exc)}
    return {"results": out, "core": posebake_core.__file__}
