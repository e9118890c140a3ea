"""`posebake batch DIR --rig RIG -o OUTDIR`: bake every video in a folder onto one rig.

One estimator stays loaded for the whole folder. A file that fails (unreadable video, nobody in it, a
bake error) is reported and the batch goes on; the summary table lists every file, and the exit code is
non-zero when any failed, so scripts notice without parsing the table.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from posebake_core.atomic import check_writable_dir
from posebake_core.errors import PoseBakeError
from ..bake import (_bar_progress, add_rig_arguments, bake_options, check_inputs, describe, estimate_to,
                   rig_job, run_headless, wants_hands)

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass
class Row:
    name: str
    ok: bool
    seconds: float
    frames: int | str = "-"
    detail: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="bake every video (or Motion .npz) in a folder onto one rig",
                       description="Estimate and bake each video in DIR onto the rig; OUTDIR gets NAME.npz and "
                                   "NAME.blend per video (and NAME.fbx, NAME.glb, NAME.usdc with --fbx, --glb, --usd). "
                                   "Failures are reported and skipped; the exit code is 1 if any file failed.")
    p.add_argument("folder", type=Path, help="folder of videos (and/or Motion .npz files)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder (created if missing)")
    p.add_argument("--fbx", action="store_true", help="also export NAME.fbx")
    p.add_argument("--glb", action="store_true", help="also export NAME.glb")
    p.add_argument("--usd", action="store_true", help="also export NAME.usdc (UsdSkel animation)")
    p.add_argument("--camera", action="store_true",
                   help="also add a camera matching each video (lens, size, fps, pan, background clip) to NAME.blend")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run one Ray task per video: on the cluster at ADDRESS (ray://HOST:10001, or 'auto' for the "
                        "one this machine joined), or, with no ADDRESS, on a Ray instance started here; OUTDIR "
                        "must be a path every node sees")
    add_rig_arguments(p)
    p.set_defaults(func=run)


def inputs(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir()
                  if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES + (".npz",) and not f.name.startswith("."))


def table(rows: list[Row]) -> str:
    w = max([len("file")] + [len(r.name) for r in rows])
    lines = [f"{'file':<{w}}  status  frames  seconds  detail", f"{'-' * w}  ------  ------  -------  ------"]
    for r in rows:
        detail = r.detail.splitlines()[0] if r.detail else ""
        lines.append(f"{r.name:<{w}}  {'ok' if r.ok else 'FAILED':<6}  {str(r.frames):>6}  {r.seconds:7.1f}  {detail}")
    return "\n".join(lines)


def bake_job(f: Path, motion: Path, args: argparse.Namespace) -> dict:
    """The headless bake job for one input (outputs named after it in OUTDIR)."""
    def out(suffix: str, wanted: bool = True) -> str | None:
        return str((args.output / f"{f.stem}{suffix}").resolve()) if wanted else None
    return {**rig_job(args, "bake"), "motion": str(motion.resolve()), "output": out(".blend"),
            "fbx": out(".fbx", args.fbx), "glb": out(".glb", args.glb), "usd": out(".usdc", args.usd),
            "options": bake_options(args), "camera": bool(args.camera)}


def motion_path(f: Path, args: argparse.Namespace) -> Path:
    """Where an input's Motion is: itself for an .npz, else OUTDIR/NAME.npz (estimated there)."""
    return f if f.suffix.lower() == ".npz" else args.output / f"{f.stem}.npz"


def done_row(f: Path, result: dict, seconds: float) -> Row:
    detail = f"action {result['action']}" + (f", camera {result['camera']}" if result.get("camera") else "")
    return Row(f.name, True, seconds, result["frames"], detail)


def failed_row(f: Path, exc: BaseException, seconds: float) -> Row:
    msg = str(exc) if isinstance(exc, PoseBakeError) else f"{type(exc).__name__}: {exc}"
    return Row(f.name, False, seconds, detail=msg)


def prepare(args: argparse.Namespace) -> list[Path]:
    """Check the inputs, the output folder and the rig once, before any estimation; returns the files."""
    check_inputs(args)
    if not args.folder.is_dir():
        raise PoseBakeError(f"not a folder: {args.folder}")
    files = inputs(args.folder)
    if not files:
        raise PoseBakeError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) or .npz files in {args.folder}")
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PoseBakeError(f"cannot create the output folder {args.output}: {exc.strerror or exc}") from None
    check_writable_dir(args.output / "probe")  # a real write, before any estimation
    rig = run_headless(rig_job(args, "check"), args.timeout)
    print(f"rig: armature {rig['armature']!r}, preset {rig['preset'] or 'auto-mapped'}; {len(files)} file(s)")
    args.hands_wanted = wants_hands(args, rig)
    return files


def summarise(rows: list[Row], args: argparse.Namespace) -> int:
    """The summary table and the exit code (1 when any file failed), the same for local and Ray runs."""
    print()
    print(table(rows))
    failed = sum(not r.ok for r in rows)
    print(f"\n{len(rows) - failed} baked, {failed} failed; outputs in {args.output}")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    files = prepare(args)
    if args.ray is not None:
        from .on_ray import run_on_ray
        return summarise(run_on_ray(files, args), args)
    estimator, rows = None, []
    for k, f in enumerate(files, 1):
        label = f"[{k}/{len(files)}] {f.name}: "
        t0 = time.monotonic()
        try:
            motion = motion_path(f, args)
            if motion != f:
                estimator = estimate_to(f, motion, args, estimator, progress=_bar_progress(label))
                print(file=sys.stderr)
            result = run_headless(bake_job(f, motion, args), args.timeout)
            rows.append(done_row(f, result, time.monotonic() - t0))
            print(label + describe(result), flush=True)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # continue-on-failure is the point of batch
            rows.append(failed_row(f, exc, time.monotonic() - t0))
            print(f"{label}FAILED: {rows[-1].detail}", flush=True)
    return summarise(rows, args)
