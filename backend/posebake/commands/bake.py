"""`posebake bake VIDEO_OR_MOTION --rig RIG -o OUT.blend`: video -> Motion -> Action on a rig, headless.

The estimate runs here (torch); the Blender part runs in a child process, the add-on's own
`headless.py` under the venv's python with pip `bpy`. So this process never imports bpy (whose import
is slow and whose exit can hang), the add-on and the CLI bake through the same code, and the child runs
under a timeout. The rig is checked in a quick child first, so a rig that cannot be mapped fails in
seconds rather than after minutes of estimation.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from posebake_core.errors import PoseBakeError

from ..argtypes import non_negative_int, positive_float
from ..lifting import DEFAULT_LIFTER, LIFTERS
from ..scale import check_height

RIG_SUFFIXES = (".blend", ".glb", ".gltf", ".vrm", ".fbx")  # a .vrm is glTF binary with extensions
USD_SUFFIXES = (".usdc", ".usda", ".usd")  # Blender's USD exporter writes any of these
BAKE_TIMEOUT = 600.0


def add_rig_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by `bake` and `batch`."""
    p.add_argument("--rig", type=Path, required=True, help="rig file: .blend, .glb/.gltf/.vrm or .fbx")
    p.add_argument("--armature", help="armature object name (needed when the file holds several)")
    p.add_argument("--preset", help="rig preset name (default: auto-detect from the bone names)")
    p.add_argument("--track", type=non_negative_int, default=0, help="person to bake, 0 = main subject (default 0)")
    p.add_argument("--no-foot-lock", action="store_true", help="let feet slide as estimated")
    p.add_argument("--contact-height", type=float, metavar="LEGS",
                   help="re-detect planted feet: a heel or toe this many leg lengths above its lowest counts as "
                        "planted (default: the Motion's own contacts, found at 0.12)")
    p.add_argument("--no-root-motion", action="store_true", help="bake in place (no horizontal travel)")
    p.add_argument("--no-scale-to-rig", action="store_true", help="keep the video's travel in metres")
    p.add_argument("--smoothing", type=float, default=0.0, help="extra Gaussian smoothing, sigma in frames")
    p.add_argument("--start", type=int, help="first video frame (index)")
    p.add_argument("--end", type=int, help="stop before this video frame (index)")
    p.add_argument("--device", default="auto", help="estimation device: auto, cpu or cuda")
    p.add_argument("--runtime", default="auto", choices=("auto", "torch", "onnx"),
                   help="engine for the models: auto (ONNX Runtime on the CPU, torch on CUDA), torch or onnx")
    p.add_argument("--subject-height", type=float, metavar="M",
                   help="actor's standing height in metres, fixes the metric scale of estimated videos "
                        "(not used for a Motion .npz input, which was estimated before)")
    p.add_argument("--lifter", default=DEFAULT_LIFTER, choices=tuple(LIFTERS),
                   help="joint centres for estimated videos (default %(default)s; none: BlazePose's landmarks only)")
    p.add_argument("--hands", action=argparse.BooleanOptionalAction, default=None,
                   help="estimate the hands and bake the fingers (default: when the rig has finger bones)")
    p.add_argument("--timeout", type=positive_float, default=BAKE_TIMEOUT, help="seconds allowed for the Blender step")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bake", help="video or Motion file -> Action on a rig, saved as .blend (headless)",
                       description="Estimate the motion of a video (or read a Motion .npz) and bake it onto an "
                                   "armature with pip bpy; save a .blend and optionally FBX/glTF exports.")
    p.add_argument("input", type=Path, help="video file, or a Motion .npz from `posebake estimate`")
    p.add_argument("-o", "--output", type=Path, required=True, help=".blend to write")
    p.add_argument("--fbx", type=Path, help="also export FBX here")
    p.add_argument("--glb", type=Path, help="also export glTF binary here")
    p.add_argument("--usd", type=Path, help="also export USD here (.usdc, .usda or .usd; UsdSkel animation)")
    p.add_argument("--camera", action="store_true",
                   help="also add a camera matching the video (lens, size, fps, pan, background clip)")
    p.add_argument("--preview", type=Path, metavar="OUT.mp4",
                   help="also render the baked character over the video through the matched camera (implies "
                        "--camera; Cycles on the CPU, about 0.2 s a frame at 540p)")
    p.add_argument("--motion-out", type=Path, help="keep the estimated Motion here (default: OUTPUT with .npz)")
    add_rig_arguments(p)
    p.set_defaults(func=run)


def headless_script() -> Path:
    """The add-on's driver: $POSEBAKE_ADDON/headless.py, else the installed `posebake_blender` package's (the
    wheel ships it; an editable install points at the checkout's addon/posebake_blender/). Located without
    importing it: its __init__ needs bpy, which only the Blender child has."""
    if os.environ.get("POSEBAKE_ADDON"):
        base = Path(os.environ["POSEBAKE_ADDON"])
    else:
        spec = importlib.util.find_spec("posebake_blender")
        base = Path(spec.origin).parent if spec and spec.origin else Path("posebake_blender (not installed)")
    script = base / "headless.py"
    if not script.is_file():
        raise PoseBakeError(f"the Blender add-on driver {script} is missing (set POSEBAKE_ADDON to the "
                            "posebake_blender folder)")
    return script


def run_headless(job: dict[str, Any], timeout: float = BAKE_TIMEOUT) -> dict[str, Any]:
    """Run one job in a bpy child; returns its result dict or raises `PoseBakeError` with its message."""
    from posebake_core.bakejob import check_job

    check_job(job)  # a malformed job is this side's bug: refuse it before Blender starts
    with tempfile.TemporaryDirectory(prefix="posebake-bake-") as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        cmd = [sys.executable, str(headless_script()), str(job_file), str(result_file)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PoseBakeError(f"the Blender step took longer than {timeout:g} s and was stopped") from None
        if not result_file.is_file():
            tail = (proc.stderr or proc.stdout or "")[-2000:]
            hint = "; is pip bpy installed (pip install '.[blender]')?" if "No module named 'bpy'" in tail else ""
            raise PoseBakeError(f"the Blender step died (exit {proc.returncode}){hint}:\n{tail}")
        result = json.loads(result_file.read_text(encoding="utf-8"))
    if not result.get("ok"):
        msg = result.get("error", "unknown error")
        if result.get("traceback"):
            msg += "\n" + result["traceback"]
        raise PoseBakeError(msg)
    return result


def check_inputs(args: argparse.Namespace) -> None:
    if not args.rig.is_file():
        raise PoseBakeError(f"rig file not found: {args.rig}")
    if args.rig.suffix.lower() not in RIG_SUFFIXES:
        raise PoseBakeError(f"unsupported rig file {args.rig.name}: use {', '.join(RIG_SUFFIXES)}")
    from .estimate import check_options  # start, end, height: the job schema's own rules, named by flag

    check_options(argparse.Namespace(**{n: getattr(args, n, None) for n in
                                        ("start", "end", "subject_height", "fov", "focal", "max_people")}))
    check_height(args.subject_height)  # before minutes of estimation


def rig_job(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    return {"mode": mode, "rig": str(args.rig.resolve()), "armature": args.armature, "preset": args.preset}


def bake_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"track": args.track, "smoothing": args.smoothing, "root_motion": not args.no_root_motion,
            "foot_lock": not args.no_foot_lock, "scale_to_rig": not args.no_scale_to_rig,
            "frame_start": args.start, "frame_end": args.end, "contact_height": args.contact_height,
            "fingers": getattr(args, "hands", None) is not False}


def wants_hands(args: argparse.Namespace, rig: dict[str, Any]) -> bool:
    """--hands / --no-hands, else whether the rig has finger bones (the rig check counts them)."""
    return bool(rig.get("fingers")) if args.hands is None else bool(args.hands)


def estimate_to(video: Path, dest: Path, args: argparse.Namespace, estimator=None,
                progress: Callable[[str, int, int], None] | None = None):
    """Estimate `video` into the Motion file `dest`; returns the estimator (to reuse, warm)."""
    from posebake_core.atomic import check_writable_dir
    from ..estimate import EstimateOptions, Estimator

    check_writable_dir(dest)
    if estimator is None:
        estimator = Estimator(args.device, args.runtime)
    opts = EstimateOptions(device=args.device, start=args.start or 0, end=args.end,
                           subject_height=args.subject_height, lifter=args.lifter,
                           hands=bool(getattr(args, "hands_wanted", False)))
    motion = estimator.run(video, opts, progress=progress)
    motion.save(dest)
    return estimator


def _bar_progress(label: str) -> Callable[[str, int, int], None]:
    state = {"t": 0.0}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - state["t"] > 1.0 or done >= total:
            state["t"] = now
            print(f"\r{label}{stage} {done}/{total}", end="", file=sys.stderr, flush=True)
    return progress


def describe(result: dict[str, Any]) -> str:
    fr = result["frame_range"]
    return (f"baked {result['frames']} frames onto {result['armature']!r} as action {result['action']!r} "
            f"(preset {result['preset'] or 'auto'}, frames {fr[0]:g}-{fr[1]:g} at {result['fps']:g} fps, "
            f"root travel {result['root_travel']:.2f}, {result['bones']} bones)")


def run(args: argparse.Namespace) -> int:
    from posebake_core.atomic import check_output, staged_outputs

    check_inputs(args)
    if args.input.is_dir():
        raise PoseBakeError(f"{args.input} is a folder; `posebake bake` takes one video or Motion file "
                            "(`posebake batch FOLDER` bakes a folder)")
    if not args.input.is_file():
        raise PoseBakeError(f"input not found: {args.input}")
    outputs = {"output": (args.output, (".blend",)), "fbx": (args.fbx, (".fbx",)), "glb": (args.glb, (".glb",)),
               "usd": (args.usd, USD_SUFFIXES),
               "motion": (args.motion_out, (".npz",)), "preview": (args.preview, (".mp4",))}
    for what, (out, suffixes) in outputs.items():
        if out is not None:
            check_output(out, suffixes, "--" + what if what != "output" else "output")
    given = [o for o, _ in outputs.values() if o is not None]
    if len({o.resolve() for o in given}) < len(given):
        raise PoseBakeError("two outputs name the same file: " + ", ".join(map(str, given)))
    rig = run_headless(rig_job(args, "check"), args.timeout)
    print(f"rig: armature {rig['armature']!r}, preset {rig['preset'] or 'auto-mapped'}, {rig['bones']} bones"
          + (f", {rig['fingers']} finger bones" if rig.get("fingers") else ""))
    args.hands_wanted = wants_hands(args, rig)
    shaky = sorted(r for r, c in rig.get("confidence", {}).items() if c < 0.8)
    if shaky:
        print(f"rig: guessed from the hierarchy or the skeleton's shape: {', '.join(shaky)} (check them in the "
              "add-on's bone mapping, or pass --preset)")
    motion = args.input
    if args.input.suffix.lower() != ".npz":
        motion = args.motion_out or args.output.with_suffix(".npz")
        estimate_to(args.input, motion, args, progress=_bar_progress("estimate: "))
        print(f"\nmotion written to {motion}")
    # The .blend, the exports and the preview are published together once all are written: a failure in
    # any (a full disk during the FBX export) leaves none of them, and no half-written file.
    with staged_outputs([args.output, args.fbx, args.glb, args.usd, args.preview]) as staged, \
            tempfile.TemporaryDirectory(prefix="posebake-preview-") as frames:
        def tmp(target: Path | None) -> str | None:
            return str(staged[target].resolve()) if target is not None else None

        job = {**rig_job(args, "bake"), "motion": str(Path(motion).resolve()), "output": tmp(args.output),
               "fbx": tmp(args.fbx), "glb": tmp(args.glb), "usd": tmp(args.usd), "options": bake_options(args),
               "camera": bool(args.camera or args.preview)}
        if args.preview:
            job["preview"] = frames
        result = run_headless(job, args.timeout)
        if args.preview:
            from posebake_core.motion import Motion

            from ..overlay import write_overlay

            write_overlay(Motion.load(motion), args.track, [tuple(f) for f in result["preview_frames"]],
                          staged[args.preview], contacts=result.get("contacts"))
    result["outputs"] = [str(o) for o in (args.output, args.fbx, args.glb, args.usd) if o is not None]
    print(describe(result))
    for warning in result.get("warnings", []):
        print(f"warning: {warning}")
    if result.get("camera"):
        print(f"camera {result['camera']!r}: {result['camera_lens']:.1f} mm lens, "
              f"{'keyed' if result['camera_animated'] else 'static'}"
              f"{', video as background' if result['camera_background'] else ', source video not found'}")
    print("wrote " + ", ".join(result["outputs"] + ([str(args.preview)] if args.preview else [])))
    return 0
