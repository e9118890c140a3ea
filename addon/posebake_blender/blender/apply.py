"""Motion file -> Action on an armature: the one bake path used by the panel, the service round trip and
the headless `posebake bake` driver.

Everything that can be refused (not an armature, too few bones, unknown preset, bad or empty motion file,
missing person, empty frame range) is checked before the scene is touched, and surfaces as a `BakeError`
whose message the panel reports and the CLI prints.
"""
from __future__ import annotations

import bpy
import numpy as np
from posebake_core.errors import MotionError
from posebake_core.motion import Motion
from posebake_core.retarget.contacts import contacts_for_motion
from posebake_core.retarget.prepare import BakeOptions, PrepareError, frame_slice, motion_to_canonical

from ..rigs import Preset
from .bake import BakeError, BakeResult, bake, check_rig, match_scene_fps
from .camera import create_camera
from .guard import SceneGuard

__all__ = ["bake_motion", "load_motion", "match_scene_fps", "summarize"]


def load_motion(path: str) -> Motion:
    """Read a Motion file through the core's one reader; a refusal becomes a `BakeError`."""
    try:
        return Motion.load(path)
    except MotionError as exc:
        raise BakeError(str(exc)) from None


def bake_motion(obj, motion: str | Motion, opts: BakeOptions, preset: str | Preset | None = None, *,
                action_name: str | None = None, frame_start: float | None = None,
                set_scene_fps: bool = False, camera: bool = False) -> BakeResult:
    """Read (if given a path), prepare and bake one person of a Motion onto `obj` as a new Action.

    `set_scene_fps` changes the scene rate to the motion's first (headless bakes into a fresh scene want
    one key per frame; the panel leaves the user's scene rate alone and keys land between frames).
    `camera` also adds a camera matching the video (see `blender.camera`); its facts go in `camera_info`.
    A failure after the scene was first touched undoes the bake (`guard.SceneGuard`). The panel,
    `posebake bake`/`batch` and `api.bake` all come through here."""
    check_rig(obj, preset)  # fail on the rig before reading a possibly large file
    mf = load_motion(motion) if isinstance(motion, str) else motion
    try:
        canon = motion_to_canonical(mf, opts)
    except PrepareError as exc:
        raise BakeError(str(exc)) from None
    if opts.contact_height is None and mf.contacts is not None:  # the feet the estimate found planted
        c = mf.contacts[opts.track]
    else:  # the user's own threshold, or a Motion written before contacts were: detected as the estimate does
        user = {} if opts.contact_height is None else {"height": float(opts.contact_height)}
        c = contacts_for_motion(mf, track=opts.track, **user)[opts.track]
    c = c[frame_slice(mf, opts)]
    contacts = {"L": c[:, 0], "R": c[:, 1]}
    with SceneGuard(obj):  # a failure from here on leaves the scene as it was
        if set_scene_fps:
            match_scene_fps(bpy.context.scene, mf.fps)
        res = bake(obj, canon, preset, foot_lock=opts.foot_lock, action_name=action_name, frame_start=frame_start,
                   scale_to_rig=opts.scale_to_rig, contacts=contacts)
        if camera:
            res.camera_info = create_camera(obj, mf, opts, res)
    return res


def summarize(obj, result: BakeResult) -> dict:
    """Plain-data facts about a finished bake (for the CLI's JSON result and the tests): key count, frame
    range, NaN check, how far the root travelled."""
    sol = result.solution
    quats = np.stack(list(sol.quats.values())) if sol.quats else np.zeros((0, 0, 4))
    loc = np.asarray(sol.root_location)
    travel = float(np.linalg.norm(loc[-1] - loc[0])) if len(loc) else 0.0
    return {"armature": obj.name, "action": result.action.name, "preset": result.report.preset,
            "frame_range": list(result.frame_range), "frames": int(loc.shape[0]), "bones": len(sol.quats),
            "root_bone": sol.root_bone, "scale": float(sol.scale),
            "finite": bool(np.isfinite(quats).all() and np.isfinite(loc).all()),
            "root_travel": travel, "unmapped": list(result.report.unmapped),
            "guessed": sorted(result.report.guessed), "warnings": list(result.warnings)}
