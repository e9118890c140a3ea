"""PoseBake's Python API for bpy scripts: check a rig, bake a Motion file or a video onto it, manage presets.

    from posebake_blender import api
    report = api.check(bpy.data.objects["Armature"])
    result = api.bake(bpy.data.objects["Armature"], "shot.npz", camera=True)

Importable by this stable name in any Blender where the extension is enabled (`register()` makes the
extension's `bl_ext.<repo>.posebake_blender` answer to `posebake_blender` too), and with pip `bpy` from a
checkout (`addon/` on `sys.path`). Everything here is synchronous, works in background Blender (no timers,
no modal operators), raises `BakeError` with a message for people on bad input, and leaves the scene as it
was when it raises. The panel, `posebake bake`/`batch` and this API bake through one function
(`blender.apply.bake_motion`).

Versioned with the Motion contract: `API_VERSION` changes (major) when a function or argument here is
removed or changes meaning, (minor) when one is added; tests/test_api.py holds the signatures to it.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import bpy
from posebake_core.motion import Motion
from posebake_core.retarget.prepare import BakeOptions

from . import rigs
from .blender import rigcheck
from .blender.apply import bake_motion
from .blender.bake import BakeError, check_rig, map_rig

__all__ = ["API_VERSION", "BakeError", "BakeOutcome", "Backend", "RigReport", "bake", "check", "estimate",
           "list_presets", "load_preset", "save_preset"]

API_VERSION = "3.0"  # 3.0: the Motion schema became posebake.motion/3 (hands; 2.0: /2, joint centres)

#: progress callback: (stage, fraction 0..1)
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class RigReport:
    """What `check` found on an armature: each canonical role and the bone(s) it maps to."""

    armature: str
    preset: str | None  # the preset used, None when mapped by names and shape
    mapping: dict[str, list[str]]  # role -> bones (a role may take a chain, e.g. spine)
    guessed: list[str]  # roles mapped from the hierarchy or the skeleton's shape rather than by name
    missing: list[str]  # roles a bake needs that have no bone: the bake would be refused
    unmapped: list[str]  # bones no role took (twist, helper, props): left at rest
    confidence: dict[str, float]  # per role, 1.0 = by preset or exact name
    problems: list[str] = field(default_factory=list)  # constraints, drivers, linked data: refused too

    @property
    def ok(self) -> bool:
        """True when `bake` would accept this rig."""
        return not self.missing and not self.problems


@dataclass
class BakeOutcome:
    """What `bake` made."""

    action: Any  # bpy.types.Action, assigned to the armature
    frame_range: tuple[float, float]
    report: RigReport
    camera: Any = None  # the camera object, when asked for
    motion_path: str | None = None  # the Motion file baked (the estimate's, for a video)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Backend:
    """Where a video is estimated. Defaults come from the add-on's preferences (Service: `posebake serve`
    at `url` with `token`, both read from the backend's service.json when empty; Subprocess: `posebake
    estimate` run with `python`)."""

    mode: str = "service"  # "service" or "subprocess"
    url: str | None = None
    token: str | None = None
    python: str | None = None

    @classmethod
    def from_preferences(cls) -> "Backend":
        from .props import get_prefs

        p = get_prefs()
        return cls(mode=str(p.mode).lower(), url=p.backend_url or None, token=p.token or None,
                   python=bpy.path.abspath(p.python_path) if p.python_path else None)


def _armature(armature: Any) -> Any:
    obj = bpy.data.objects.get(armature) if isinstance(armature, str) else armature
    if obj is None:
        raise BakeError(f"no object named {armature!r} in this file")
    return obj


def check(armature: Any, preset: str | None = None) -> RigReport:
    """The mapping of `armature` (an object or its name) with `preset` (a name, a preset file's path, or
    None to detect one by bone names, else map by names and shape). Never raises for an incomplete rig:
    `missing` and `problems` say why `bake` would refuse it."""
    obj = _armature(armature)
    _, rep = map_rig(obj, preset)
    return _report(obj, rep, rigcheck.problems(obj, rep.mapping) if not rep.missing else [])


def _report(obj: Any, rep: rigs.MappingReport, problems: list[str]) -> RigReport:
    return RigReport(obj.name, rep.preset, {k: list(v) for k, v in rep.mapping.items()}, sorted(rep.guessed),
                     list(rep.missing), list(rep.unmapped), dict(rep.confidence), list(problems))


def bake(armature: Any, source: str | os.PathLike | Motion, *, preset: str | None = None, track: int = 0,
         foot_lock: bool = True, root_motion: bool = True, scale_to_rig: bool = True, smoothing: float = 0.0,
         frame_start: int | None = None, frame_end: int | None = None, contact_height: float | None = None,
         camera: bool = False, action_name: str | None = None, set_scene_fps: bool = False,
         subject_height: float | None = None, focal: float | None = None, backend: Backend | None = None,
         motion_out: str | os.PathLike | None = None, progress: Progress | None = None,
         timeout: float | None = None) -> BakeOutcome:
    """Bake one person of `source` onto `armature` as a new Action (assigned), and return what was made.

    `source`: a Motion file (.npz) or `Motion` (no backend needed), or a video, estimated first through
    `backend` (default: the add-on's preferences) while this call blocks, reporting `progress(stage,
    fraction)`; its Motion goes to `motion_out` (default: the temp folder). `frame_start`/`frame_end` are
    video frame indices; `subject_height` (metres) and `focal` (pixels) go to the estimate. Raises
    `BakeError` on bad input, a failed estimate or a time-out; the scene is then unchanged."""
    obj = _armature(armature)
    opts = BakeOptions(track=int(track), smoothing=float(smoothing), root_motion=bool(root_motion),
                       foot_lock=bool(foot_lock), scale_to_rig=bool(scale_to_rig), frame_start=frame_start,
                       frame_end=frame_end, contact_height=contact_height)
    motion: str | Motion
    if isinstance(source, Motion):
        motion = source
    else:
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise BakeError(f"no such file: {path}")
        if path.lower().endswith(".npz"):
            motion = path
        else:
            check_rig(obj, preset)  # a rig that cannot be baked fails now, not after minutes of estimation
            motion = estimate(path, frame_start=frame_start, frame_end=frame_end, subject_height=subject_height,
                              focal=focal, backend=backend, dest=motion_out, progress=progress, timeout=timeout)
    if progress is not None:
        progress("baking", 0.0)
    res = bake_motion(obj, motion, opts, preset, action_name=action_name, set_scene_fps=set_scene_fps,
                      camera=camera)
    if progress is not None:
        progress("baking", 1.0)
    cam = bpy.data.objects.get(res.camera_info["camera"]) if res.camera_info else None
    return BakeOutcome(res.action, res.frame_range, _report(obj, res.report, []), cam,
                       motion if isinstance(motion, str) else None, list(res.warnings))


def estimate(video: str | os.PathLike, *, frame_start: int | None = None, frame_end: int | None = None,
             subject_height: float | None = None, focal: float | None = None, backend: Backend | None = None,
             dest: str | os.PathLike | None = None, progress: Progress | None = None,
             timeout: float | None = None, poll: float = 0.25) -> str:
    """Estimate `video` into a Motion file through the backend, blocking; returns the file's path.

    The same jobs as the panel's (`jobs.ServiceJob` / `jobs.SubprocessJob`), polled here in a loop instead
    of by a timer, so it works in background Blender."""
    from posebake_core.jobs import OptionError, validate_options

    from .client import BackendClient, BackendError
    from .jobs import ServiceJob, SubprocessJob

    video = os.fspath(video)
    if not os.path.isfile(video):
        raise BakeError(f"video not found: {video}")
    est = {k: v for k, v in (("start", frame_start), ("end", frame_end), ("subject_height", subject_height),
                             ("focal", focal)) if v is not None}
    try:
        validate_options(est)
    except OptionError as exc:
        raise BakeError(str(exc)) from None
    out = os.fspath(dest) if dest is not None else os.path.join(
        tempfile.gettempdir(), "posebake", Path(video).stem + ".npz")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    b = backend or Backend.from_preferences()
    try:
        if b.mode == "subprocess":
            if not b.python or not os.path.isfile(b.python):
                raise BakeError(f"the backend Python {b.python!r} does not exist: pass Backend(python=...) or set "
                                "it in the PoseBake add-on preferences")
            job: ServiceJob | SubprocessJob = SubprocessJob(b.python, video, out, est)
        elif b.mode == "service":
            client = BackendClient(b.url, b.token)
            client.health()  # an unreachable backend fails now, not after an upload
            job = ServiceJob(client, video, out, est)
        else:
            raise BakeError(f"unknown backend mode {b.mode!r}: use 'service' or 'subprocess'")
        job.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            p = job.poll()
            if progress is not None:
                progress(p.stage, p.fraction)
            if p.finished:
                break
            if deadline is not None and time.monotonic() > deadline:
                job.cancel()
                raise BakeError(f"the estimate of {video} took longer than {timeout:g} s and was cancelled")
            time.sleep(poll)
    except BackendError as exc:
        raise BakeError(f"the backend failed: {exc}") from None
    if p.state != "done" or not p.result_path:
        raise BakeError(p.message or f"the estimate of {video} ended {p.state}")
    return p.result_path


def list_presets() -> list[str]:
    """Every rig preset by name: the shipped ones and the user's own (the mapping editor's)."""
    return rigs.list_presets()


def load_preset(name_or_path: str | os.PathLike) -> rigs.Preset:
    """A preset by name or by file path (the mapping editor's JSON format)."""
    try:
        return rigs.load_preset(os.fspath(name_or_path))
    except rigs.RigError as exc:
        raise BakeError(str(exc)) from None


def save_preset(name: str, mapping: dict[str, list[str]], label: str = "",
                root_motion: str | None = None) -> Path:
    """Save a mapping (role -> bones) as a user preset, as the mapping editor's "Save as preset" does."""
    try:
        return rigs.save_preset(name, mapping, label=label, root_motion=root_motion)
    except rigs.RigError as exc:
        raise BakeError(str(exc)) from None
