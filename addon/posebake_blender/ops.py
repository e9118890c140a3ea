"""Operators: Bake, Cancel, Re-bake, Start local backend; and the timer that follows a running job.

Bake checks everything it can at once (rig, input path, backend reachable and token accepted) and reports
problems with `self.report({'ERROR'}, ...)` before anything starts. The estimation itself runs outside
Blender (`jobs.py`); `poll_step` is registered with `bpy.app.timers` and returns immediately on every call,
so the UI stays live. Blender data is only touched in `poll_step` and the operators, i.e. on the main
thread, and the scene changes only when a bake succeeds (a failed or cancelled job leaves it untouched).
Timers never fire in a background (headless) Blender, so tests and scripts call `poll_step()` directly.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import bpy
from posebake_core.jobs import HEIGHT_RANGE_M, OptionError, validate_options
from posebake_core.retarget.fingers import FINGER_ROLES
from posebake_core.retarget.prepare import BakeOptions

from .blender.apply import bake_motion, summarize
from .blender.bake import BakeError, check_rig
from .client import BackendClient, BackendError, TokenRejected
from .jobs import Progress, ServiceJob, SubprocessJob, start_backend
from .props import get_prefs, target_armature

INTERVAL = 0.25  # seconds between polls: smooth enough for a progress bar, negligible CPU
CHECK_TIMEOUT = 3.0  # the one synchronous backend call (reachability + token) is bounded by this


@dataclass
class Runner:
    """The job in flight and what to bake when it ends (names, not Blender pointers, which can dangle)."""

    job: ServiceJob | SubprocessJob
    scene: str
    armature: str
    preset: str | None
    options: BakeOptions
    camera: bool = False
    last: Progress | None = None


_RUN: Runner | None = None


def active_runner() -> Runner | None:
    return _RUN


def options_from(s) -> BakeOptions:
    rng = s.use_frame_range
    return BakeOptions(track=int(s.track or 0), smoothing=float(s.smoothing), root_motion=s.root_motion,
                       foot_lock=s.foot_lock, scale_to_rig=s.scale_to_rig,
                       frame_start=s.frame_start if rng else None, frame_end=s.frame_end if rng else None,
                       contact_height=float(s.contact_height) if s.contact_height > 0 else None,
                       fingers=bool(s.fingers))


def estimate_options(s, opts: BakeOptions, hands: bool = False) -> dict[str, float | int | None]:
    """What the estimate is told besides the frame range: the subject's height and the focal length, each
    only when set (0 in the panel means unknown, and must not reach the backend as a real value), and the
    hands when the fingers are to be baked (`hands`: the option is on and the rig has finger bones)."""
    est: dict[str, float | int | None] = {"start": opts.frame_start, "end": opts.frame_end}
    if hands:
        est["hands"] = True
    if s.subject_height > 0:
        est["subject_height"] = round(float(s.subject_height), 4)
    if s.focal_px > 0:
        est["focal"] = round(float(s.focal_px), 3)
    return est


def check_estimate_options(est: dict[str, float | int | None]) -> None:
    """Refuse, before any job starts, what the backend would refuse (its own rules: `posebake_core.jobs`)."""
    try:
        validate_options({k: v for k, v in est.items() if v is not None})
    except OptionError as exc:
        if exc.field == "subject_height":
            raise BakeError(f"subject height is in metres ({est['subject_height']:g} is outside "
                            f"{HEIGHT_RANGE_M[0]}-{HEIGHT_RANGE_M[1]}); set 0 if it is not known") from None
        raise BakeError(str(exc)) from None


def preset_of(s):
    """What the bake maps with: the mapping editor's rows when "Use this mapping" is on, else the preset
    menu's choice (None: auto-detect)."""
    from .mapping import edited_preset
    return edited_preset(s) or (None if s.preset == "AUTO" else s.preset)


def make_client(prefs, timeout: float = 30.0) -> BackendClient:
    return BackendClient(prefs.backend_url or None, prefs.token or None, timeout=timeout)


def motion_dest(video: str, opts: BakeOptions, est: dict | None = None) -> str:
    """Where an estimate lands: `//posebake/` beside a saved .blend, else the temp directory.

    The name carries everything that changes the estimate (frame range, subject height, focal length), so
    estimates made with other settings sit side by side instead of overwriting each other, and the Motion
    that "Re-bake" reuses is always the one made with the settings its name shows."""
    base = bpy.path.abspath("//posebake") if bpy.data.filepath else os.path.join(tempfile.gettempdir(), "posebake")
    os.makedirs(base, exist_ok=True)
    stem = os.path.splitext(os.path.basename(video))[0]
    rng = f"_{opts.frame_start}-{opts.frame_end}" if opts.frame_start is not None else ""
    est = est or {}
    if est.get("subject_height"):
        rng += f"_h{est['subject_height']:g}m"
    if est.get("focal"):
        rng += f"_f{est['focal']:g}px"
    return os.path.join(base, f"{stem}{rng}.npz")


def _redraw() -> None:
    wm = bpy.context.window_manager
    for win in getattr(wm, "windows", []):
        for area in win.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def _finish_bake(s, obj, motion: str, opts: BakeOptions, preset: str | None, camera: bool = False) -> str:
    """Bake (and with `camera`, add the video camera); the panel's DONE message says what was made."""
    res = bake_motion(obj, motion, opts, preset, camera=camera)
    info = summarize(obj, res)
    s.status, s.progress, s.stage = "DONE", 1.0, "done"
    s.message = (f"baked {info['frames']} frames of person {opts.track} onto {obj.name} as '{info['action']}' "
                 f"(preset {info['preset'] or 'auto'}, frames {info['frame_range'][0]:g}-{info['frame_range'][1]:g})")
    cam = res.camera_info
    if cam:
        s.message += (f"; camera '{cam['camera']}' ({cam['camera_lens']:.1f} mm, "
                      f"{'keyed' if cam['camera_animated'] else 'static'}, "
                      f"{'video as background' if cam['camera_background'] else 'source video not found'})")
        if s.preview_over_video:
            views = look_through_camera()
            s.message += f"; {views} viewport(s) look through it" if views else ""
    for warning in res.warnings:
        s.message += f"; note: {warning}"
    return s.message


def look_through_camera() -> int:
    """Turn every 3D viewport of the open windows to the scene camera, whose background is the video:
    the character over the footage, as the `--preview` render shows it. Returns how many were turned."""
    count = 0
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.spaces.active.region_3d.view_perspective = "CAMERA"
                area.tag_redraw()
                count += 1
    return count


def poll_step() -> float | None:
    """The timer callback: one non-blocking poll; bakes on success. Returns the next interval, or None
    when there is nothing left to follow (which unregisters the timer)."""
    global _RUN
    run = _RUN
    if run is None:
        return None
    scene = bpy.data.scenes.get(run.scene)
    if scene is None:  # the scene was deleted under the job
        run.job.cancel()
        _RUN = None
        return None
    s = scene.posebake
    p = run.job.poll()
    run.last = p
    s.stage, s.progress = p.stage, p.fraction
    s.eta = -1.0 if p.eta_s is None else float(p.eta_s)
    if not p.finished:
        s.status = "RUNNING"
        _redraw()
        return INTERVAL
    _RUN = None
    if p.state == "done":
        s.motion_path = p.result_path or ""
        obj = bpy.data.objects.get(run.armature)
        try:
            _finish_bake(s, obj, s.motion_path, run.options, run.preset, run.camera)
            for warning in p.warnings:  # from the estimate (a video shorter than its header says)
                s.message += f"; note: {warning}"
        except BakeError as exc:
            s.status, s.message = "ERROR", str(exc)
        except Exception as exc:  # a bug: still end the job visibly instead of leaving it 'running'
            s.status, s.message = "ERROR", f"internal error while baking: {type(exc).__name__}: {exc}"
    elif p.state == "cancelled":
        s.status, s.message = "CANCELLED", "cancelled; the scene is unchanged"
    else:
        s.status, s.message = "ERROR", p.message or "the job failed"
    if s.status == "ERROR":
        print(f"PoseBake: error: {s.message}")
    _redraw()
    return None


def stop_polling() -> None:
    """Cancel a job in flight (unregistering the add-on, or quitting) and drop the timer."""
    global _RUN
    if _RUN is not None:
        _RUN.job.cancel()
        _RUN = None
    if bpy.app.timers.is_registered(poll_step):
        bpy.app.timers.unregister(poll_step)


class POSEBAKE_OT_bake(bpy.types.Operator):
    """Estimate the person's motion from the video (or read a Motion .npz) and bake it onto the rig"""

    bl_idname = "posebake.bake"
    bl_label = "Bake"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context) -> bool:
        return _RUN is None and context.scene is not None and hasattr(context.scene, "posebake")

    def execute(self, context) -> set[str]:
        s = context.scene.posebake
        obj = target_armature(context)
        opts, preset = options_from(s), preset_of(s)
        try:
            if obj is None:
                raise BakeError("no target armature: pick one in the PoseBake panel or select the rig")
            rep = check_rig(obj, preset)
            hands = opts.fingers and any(role in FINGER_ROLES for role in rep.mapping)
            if not s.video_path:
                raise BakeError("choose a video (or a Motion .npz) first")
            path = bpy.path.abspath(s.video_path)
            if not os.path.isfile(path):
                raise BakeError(f"video not found: {path}")
            if opts.frame_start is not None and opts.frame_end <= opts.frame_start:
                raise BakeError(f"frame range end ({opts.frame_end}) must be after its start ({opts.frame_start})")
            check_estimate_options(estimate_options(s, opts, hands))
            if path.lower().endswith(".npz"):
                msg = _finish_bake(s, obj, path, opts, preset, s.camera_from_video or s.preview_over_video)
                self.report({"INFO"}, msg)
                return {"FINISHED"}
            job = self._make_job(context, path, opts, estimate_options(s, opts, hands))
        except (BakeError, BackendError) as exc:
            s.status, s.message = "ERROR", str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return self._start(context, job, obj.name, preset, opts, s.camera_from_video or s.preview_over_video)

    @staticmethod
    def _make_job(context, path: str, opts: BakeOptions, est: dict) -> ServiceJob | SubprocessJob:
        prefs = get_prefs(context)
        dest = motion_dest(path, opts, est)
        if prefs.mode == "SUBPROCESS":
            python = bpy.path.abspath(prefs.python_path)
            if not os.path.isfile(python):
                raise BakeError(f"the backend Python {python!r} does not exist: set it in the PoseBake "
                                "add-on preferences")
            return SubprocessJob(python, path, dest, est)
        quick = make_client(prefs, timeout=CHECK_TIMEOUT)
        quick.health()  # connection refused / wrong URL: reported now, not after an upload
        try:
            quick.jobs()  # token missing or rejected: same
        except TokenRejected:
            if not prefs.token:
                raise
            raise TokenRejected(f"token rejected by the backend at {quick.url}: the token in the PoseBake add-on "
                                "preferences does not match the server's (clear it to use the one in the "
                                "backend's config file)") from None
        return ServiceJob(make_client(prefs), path, dest, est)

    @staticmethod
    def _start(context, job, armature: str, preset: str | None, opts: BakeOptions, camera: bool) -> set[str]:
        global _RUN
        s = context.scene.posebake
        _RUN = Runner(job, context.scene.name, armature, preset, opts, camera)
        job.start()
        s.status, s.stage, s.progress, s.eta, s.message = "RUNNING", "starting", 0.0, -1.0, ""
        if not bpy.app.timers.is_registered(poll_step):
            bpy.app.timers.register(poll_step, first_interval=INTERVAL)
        return {"FINISHED"}


class POSEBAKE_OT_rebake(bpy.types.Operator):
    """Bake again from the last estimated motion (another person, other options) without re-estimating"""

    bl_idname = "posebake.rebake"
    bl_label = "Re-bake from last motion"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context) -> bool:
        return _RUN is None and bool(getattr(context.scene, "posebake", None) and context.scene.posebake.motion_path)

    def execute(self, context) -> set[str]:
        s = context.scene.posebake
        try:
            camera = s.camera_from_video or s.preview_over_video
            self.report({"INFO"}, _finish_bake(s, target_armature(context), bpy.path.abspath(s.motion_path),
                                               options_from(s), preset_of(s), camera))
        except BakeError as exc:
            s.status, s.message = "ERROR", str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


class POSEBAKE_OT_cancel(bpy.types.Operator):
    """Stop the running estimation; the scene stays as it is"""

    bl_idname = "posebake.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context) -> bool:
        return _RUN is not None

    def execute(self, context) -> set[str]:
        if _RUN is not None:
            _RUN.job.cancel()
        self.report({"INFO"}, "cancelling the PoseBake job")
        return {"FINISHED"}


class POSEBAKE_OT_start_backend(bpy.types.Operator):
    """Start `posebake serve` with the backend Python from the preferences"""

    bl_idname = "posebake.start_backend"
    bl_label = "Start local backend"

    def execute(self, context) -> set[str]:
        prefs = get_prefs(context)
        url = make_client(prefs).url
        log = os.path.join(tempfile.gettempdir(), "posebake_serve.log")
        try:
            proc = start_backend(bpy.path.abspath(prefs.python_path), url, log)
        except BackendError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"started the backend (pid {proc.pid}) at {url}; it is ready once the models "
                              f"are loaded; log: {log}")
        return {"FINISHED"}


CLASSES = (POSEBAKE_OT_bake, POSEBAKE_OT_rebake, POSEBAKE_OT_cancel, POSEBAKE_OT_start_backend)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
