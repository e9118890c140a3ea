"""Headless bake driver: `python headless.py JOB.json RESULT.json`, run by `posebake bake` / `batch`.

It runs in a separate process (the venv's python with pip `bpy`), so the CLI never imports bpy, a crash
or hang in Blender cannot take the CLI down, and the CLI can put it under a timeout. It uses the same
`blender.apply.bake_motion` as the panel. The job JSON holds: mode ("check" or "bake"), rig (.blend, .glb,
.gltf or .fbx), armature (name or null), preset (or null), and for "bake": motion (.npz), output (.blend),
fbx / glb / usd (optional export paths), options (`BakeOptions` fields), camera (optional bool: add a camera
matching the video). The result JSON is {"ok": true, ...facts}
or {"ok": false, "error": message}. Exits with `os._exit` because pip bpy can hang at interpreter exit.
"""
from __future__ import annotations

import json
import math
import os
import sys
import traceback
from pathlib import Path

if __name__ == "__main__":  # run as a script: import the package by its name, and drop the script's own
    _HERE = Path(__file__).resolve().parent  # folder from sys.path (a module there must not shadow a top-level one)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

RIG_SUFFIXES = (".blend", ".glb", ".gltf", ".vrm", ".fbx")  # a .vrm is glTF binary with extensions


class HeadlessError(Exception):
    """A refused job (bad rig file, no armature, unwritable output); the message is for the user."""


def load_rig(path: str) -> None:
    """Open a .blend, or import a glTF/FBX into an empty scene."""
    import bpy
    p = Path(path)
    if not p.is_file():
        raise HeadlessError(f"rig file not found: {p}")
    suffix = p.suffix.lower()
    if suffix not in RIG_SUFFIXES:
        raise HeadlessError(f"unsupported rig file {p.name}: use one of {', '.join(RIG_SUFFIXES)}")
    try:
        if suffix == ".blend":
            bpy.ops.wm.open_mainfile(filepath=str(p))
        else:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            if suffix == ".fbx":
                bpy.ops.import_scene.fbx(filepath=str(p))
            else:
                bpy.ops.import_scene.gltf(filepath=str(p))
    except RuntimeError as exc:
        raise HeadlessError(f"cannot load the rig file {p}: {str(exc).strip()}") from None


def pick_armature(name: str | None):
    import bpy
    scene = bpy.context.scene
    arms = [o for o in scene.objects if o.type == "ARMATURE"]
    if name:
        obj = bpy.data.objects.get(name)
        if obj is None:
            raise HeadlessError(f"no object named {name!r}; armatures in the file: "
                                f"{', '.join(o.name for o in arms) or 'none'}")
        return obj  # bake_motion says so if it is not an armature
    if not arms:
        raise HeadlessError("the rig file has no armature in its scene")
    if len(arms) > 1:
        raise HeadlessError(f"the rig file has {len(arms)} armatures ({', '.join(o.name for o in arms)}); "
                            "choose one with --armature")
    return arms[0]


def _save_blend(path: str) -> None:
    import bpy
    Path(path).unlink(missing_ok=True)  # the empty placeholder: over an existing file Blender keeps a .blend1
    bpy.ops.wm.save_as_mainfile(filepath=path, check_existing=False)


def _export_fbx(path: str) -> None:
    import bpy
    bpy.ops.export_scene.fbx(filepath=path, add_leaf_bones=False, bake_anim=True,
                             bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False)


def _export_glb(path: str) -> None:
    import bpy
    bpy.ops.export_scene.gltf(filepath=path, export_format="GLB", export_animations=True)


def _export_usd(path: str) -> None:
    """USD (UsdSkel): the armature, its meshes and the baked animation, as Omniverse and Move.ai exchange."""
    import bpy
    bpy.ops.wm.usd_export(filepath=path, export_animation=True, export_armatures=True,
                          selected_objects_only=False)


def run(job: dict) -> dict:
    import bpy

    from posebake_core.atomic import check_writable_dir, describe_os_error, describe_write_failure, staged_outputs
    from posebake_core.bakejob import check_job

    from posebake_blender.blender.apply import bake_motion, summarize
    from posebake_blender.blender.bake import check_rig

    opts = check_job(job)  # the contract both sides check (posebake_core.bakejob)
    outputs = [job[k] for k in ("output", "fbx", "glb", "usd") if job.get(k)]
    for out in outputs:  # before any work: a read-only target fails in a second, not after the bake
        check_writable_dir(Path(out))
    load_rig(job["rig"])
    obj = pick_armature(job.get("armature"))
    preset = job.get("preset")
    if preset is None and Path(job["rig"]).suffix.lower() == ".vrm":  # the file names its own bones
        from posebake_blender.rigs import RigError
        from posebake_blender.vrm import humanoid_preset

        try:
            preset = humanoid_preset(job["rig"])
        except RigError as exc:
            raise HeadlessError(str(exc)) from None
    from posebake_core.retarget.fingers import FINGER_ROLES

    if job.get("mode") == "check":
        rep = check_rig(obj, preset)
        return {"armature": obj.name, "preset": rep.preset, "bones": len(obj.data.bones),
                "unmapped": rep.unmapped, "guessed": sorted(rep.guessed), "confidence": rep.confidence,
                "fingers": sum(1 for role in rep.mapping if role in FINGER_ROLES)}
    res = bake_motion(obj, job["motion"], opts, preset, set_scene_fps=True, camera=bool(job.get("camera")))
    scene = bpy.context.scene
    scene.frame_start = int(math.floor(res.frame_range[0]))
    scene.frame_end = int(math.ceil(res.frame_range[1]))
    info = summarize(obj, res)
    if res.camera_info:
        info.update(res.camera_info)
    # Blender's exporters write straight to the path they are given: each writes a temporary beside its
    # target, and all are renamed together once every one (and the preview) is done, so a job leaves all its
    # files or none, never a truncated .fbx or a 0-byte .glb.
    with staged_outputs(outputs) as staged:
        for key, writer, what in (("output", _save_blend, ".blend"), ("fbx", _export_fbx, "FBX export"),
                                  ("glb", _export_glb, "glTF export"), ("usd", _export_usd, "USD export")):
            if job.get(key):
                try:
                    writer(str(staged[Path(job[key])].resolve()))
                except (RuntimeError, OSError) as exc:  # a full disk arrives as a RuntimeError with a traceback
                    why = describe_write_failure(exc, Path(job[key]).resolve().parent)
                    raise HeadlessError(f"cannot write the {what} {job[key]}: {why}") from None
        info["fps"] = scene.render.fps / scene.render.fps_base
        info["outputs"] = outputs
        info["contacts"] = {side: [bool(v) for v in c] for side, c in res.solution.contacts.items()}
        if job.get("preview"):
            try:
                info["preview_frames"] = render_preview(res, job["preview"])
            except (RuntimeError, OSError) as exc:
                raise HeadlessError(f"cannot render the preview: {describe_os_error(exc)}") from None
    return info


def render_preview(res, out_dir: str) -> list[tuple[int, str]]:
    """Render every baked frame through the matched camera into `out_dir`; (video frame, PNG) pairs."""
    import bpy

    from posebake_blender.blender.preview import render_frames

    if not res.camera_info:
        raise HeadlessError("the preview renders through the matched camera: bake with the camera too")
    scene = bpy.context.scene
    f0, f1 = int(round(res.frame_range[0])), int(round(res.frame_range[1]))
    paths = render_frames(scene, list(range(f0, f1 + 1)), out_dir)
    first_video = int(res.camera_info["video_first"])  # the scene runs at the motion's rate: one key a frame
    return [(first_video + k, str(p)) for k, p in enumerate(paths)]


def main(argv: list[str]) -> int:
    from posebake_core.atomic import describe_os_error
    from posebake_core.errors import PoseBakeError

    from posebake_blender.blender.bake import BakeError

    job_path, result_path = argv[1], argv[2]
    try:
        job = json.loads(Path(job_path).read_text(encoding="utf-8"))
        result = {"ok": True, **run(job)}
    except (HeadlessError, BakeError, PoseBakeError) as exc:
        result = {"ok": False, "error": str(exc)}
    except OSError as exc:  # the machine's state (a full disk, a permission), not a bug
        result = {"ok": False, "error": describe_os_error(exc) + (f" ({exc.filename})" if exc.filename else "")}
    except Exception as exc:  # a bug: keep the traceback for the report
        result = {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    rc = 1
    try:
        rc = main(sys.argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
