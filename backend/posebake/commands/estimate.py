"""`posebake estimate VIDEO -o OUT.npz`: metric 3D motion of every person in a video."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..argtypes import positive_float, positive_int
from ..lifting import DEFAULT_LIFTER, LIFTERS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="video -> Motion file (.npz) with metric camera-space joints")
    p.add_argument("video", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="Motion file to write (.npz)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--runtime", default="auto", choices=("auto", "torch", "onnx"),
                   help="engine for the models: auto (ONNX Runtime on the CPU, torch on CUDA), torch or onnx")
    cam = p.add_mutually_exclusive_group()
    cam.add_argument("--fov", type=float, help="horizontal field of view of the longer image side, degrees")
    cam.add_argument("--focal", type=float, help="focal length in pixels")
    p.add_argument("--no-focal-estimate", action="store_true",
                   help="without --focal/--fov/metadata, use the 55° default instead of estimating the focal "
                        "from the scene's vanishing points")
    p.add_argument("--subject-height", type=float, metavar="M",
                   help="actor's standing height in metres (fixes the metric scale; applies to every track)")
    p.add_argument("--smooth", default="smoothnet", choices=("smoothnet", "oneeuro", "savgol", "gaussian", "none"),
                   help="temporal refinement of the 3D joints (default: smoothnet, trained for this estimator)")
    p.add_argument("--lifter", default=DEFAULT_LIFTER, choices=tuple(LIFTERS),
                   help="motionbert: joint centres lifted from the 2D landmarks by the DSTformer `posebake "
                        "train-lifter` made, which the bake then uses; none: BlazePose's landmarks only "
                        "(default %(default)s, the more accurate on the benchmark clips)")
    p.add_argument("--max-people", type=int, default=4)
    p.add_argument("--start", type=int, default=0, help="first frame (index)")
    p.add_argument("--end", type=int, help="stop before this frame (index)")
    p.add_argument("--batch", type=positive_int, help="frames per batch (default 8 on CPU, 32 on CUDA)")
    p.add_argument("--hands", action=argparse.BooleanOptionalAction, default=False,
                   help="also estimate both hands' 21 finger landmarks per person (hand model of the wheel; "
                        "skipped where a hand is under --hand-min-px in the image)")
    p.add_argument("--hand-min-px", type=positive_float, metavar="PX",
                   help="smallest hand region, in pixels, worth the hand model (default: hands.MIN_HAND_PX, 40)")
    p.add_argument("--preview", type=Path, help="also write an .mp4 with the landmarks drawn")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--events", action="store_true",
                   help="progress and errors as machine-readable lines on stdout ('posebake-event {json}': "
                        "stage, done, total; error code and message) instead of a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebake_core.errors import PoseBakeError
    from posebake_core.jobs import ErrorCode, error_event, event_line

    try:
        return _run(args)
    except PoseBakeError as exc:
        if args.events:
            print(event_line(error_event(getattr(exc, "code", ErrorCode.ESTIMATE_FAILED), str(exc))), flush=True)
        raise


def check_options(args: argparse.Namespace) -> None:
    """The job options through the service's own rules (`posebake_core.jobs`), named by their flags."""
    from posebake_core.jobs import OPTIONS, OptionError, validate_options

    try:
        validate_options({name: getattr(args, name) for name in OPTIONS if getattr(args, name, None) is not None})
    except OptionError as exc:
        msg = str(exc)
        if exc.field in OPTIONS:
            msg = msg.replace(exc.field, OPTIONS[exc.field].flag, 1)
        raise OptionError(msg, exc.code, exc.field) from None


def check_inputs(args: argparse.Namespace) -> None:
    """Everything that can be checked without the models: options, the video's path, the output targets."""
    from posebake_core.atomic import check_output
    from posebake_core.errors import PoseBakeError

    check_options(args)
    if args.video.is_dir():
        raise PoseBakeError(f"{args.video} is a folder; give a video file (`posebake batch` takes folders)")
    if not args.video.is_file():
        raise PoseBakeError(f"video not found: {args.video}")
    check_output(args.output, (".npz",), "Motion file")
    if args.preview is not None:
        check_output(args.preview, (".mp4",), "preview")
        if args.preview.resolve() == args.output.resolve():
            raise PoseBakeError("the preview and the Motion file must be different files")
    if args.focal is not None:  # against the image: a focal no camera has would give all-NaN joints
        from posebake_core.jobs import check_focal

        from ..decode import probe

        info = probe(args.video)
        check_focal(args.focal, info.width, info.height, "--focal")


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from posebake_core.atomic import staged_outputs
    from posebake_core.jobs import event_line, progress_event, warning_event

    from ..estimate import EstimateOptions, Estimator

    check_inputs(args)  # fail before minutes of work, not after
    opts = EstimateOptions(device=args.device, fov=args.fov, focal=args.focal, max_people=args.max_people,
                           start=args.start, end=args.end, batch=args.batch,
                           subject_height=args.subject_height, smooth=args.smooth, lifter=args.lifter,
                           estimate_focal=not args.no_focal_estimate, hands=args.hands)
    if args.hand_min_px:
        opts.hand_min_px = args.hand_min_px
    estimator = Estimator(args.device, args.runtime)
    bar = tqdm(total=None, unit="frame", disable=args.quiet or args.events, dynamic_ncols=True)

    def progress(stage: str, done: int, total: int) -> None:
        if args.events:
            print(event_line(progress_event(stage, done, total)), flush=True)
            return
        bar.total = total
        bar.set_description(stage)
        bar.update(done - bar.n)

    try:
        motion = estimator.run(args.video, opts, progress=progress)
    finally:
        bar.close()
    with staged_outputs([args.output, args.preview]) as staged:  # both files, or neither
        motion.save(staged[args.output])
        if args.preview:
            from ..preview import write_preview

            write_preview(motion, staged[args.preview])
    present = motion.present()
    t = estimator.timings
    print(f"{motion.num_tracks} track(s), {motion.num_frames} frames; main subject in "
          f"{present[0].mean() * 100:.0f}% of frames; K from {motion.K_source} "
          f"(f = {motion.K[0, 0]:.0f} px{'; ' + estimator.focal_note if estimator.focal_note else ''}); "
          f"wrote {args.output}")
    stages = ("focal", "decode", "detect", "landmarks", "camera", "solve", "hands", "smooth", "lift")
    print("seconds: " + ", ".join(f"{k} {t[k]:.2f}" for k in stages) +
          f"; smoothing: {motion.smoothing}; lifter: {args.lifter}")
    if args.preview:
        print(f"preview written to {args.preview}")
    for warning in estimator.warnings:
        print(event_line(warning_event(warning)) if args.events else f"warning: {warning}", flush=True)
    return 0
