"""`posebake export-bvh MOTION.npz -o OUT.bvh [--track N]`: one track of a Motion file as a BVH animation.

BVH is the lowest common denominator of animation tools (Blender, MotionBuilder, Maya, game engines), so
this lets a Motion be used without the Blender add-on.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..argtypes import non_negative_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export-bvh", help="write one track of a Motion file as a BVH animation",
                              description="Write one track of a Motion file as a BVH animation: the track "
                                          "solved (as the Blender bake solves it) onto a 20-bone skeleton with "
                                          "the track's median bone lengths; camera pan removed, floor-aligned, "
                                          "metres, Y up.")
    p.add_argument("motion", type=Path, help="Motion file (.npz) written by `posebake estimate`")
    p.add_argument("-o", "--output", type=Path, required=True, help="BVH file to write")
    p.add_argument("--track", type=non_negative_int, default=0,
                   help="track position in the file, 0 = main subject (default: 0)")
    p.add_argument("--foot-lock", action="store_true",
                   help="pin planted feet as the Blender bake does (default: off, the limbs keep the "
                        "estimate's directions)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posebake_core.atomic import check_output
    from posebake_core.motion import Motion

    from ..bvh_export import export_bvh

    check_output(args.output, (".bvh",), "BVH file")
    motion = Motion.load(args.motion)
    out = export_bvh(motion, args.output, track=args.track, foot_lock=args.foot_lock)
    print(f"wrote {out} ({motion.num_frames} frames at {motion.fps:g} fps, track {args.track})")
    return 0
