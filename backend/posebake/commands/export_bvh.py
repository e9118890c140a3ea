"""`posebake export-bvh MOTION.npz -o OUT.bvh [--track N]`: one track of a Motion file as a BVH animation.

BVH is the lowest common denominator of animation tools (Blender, MotionBuilder, Maya, game engines), so
this lets a Motion be used without the Blender add-on.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export-bvh", help="write one track of a Motion file as a BVH animation",
                              description="Write one track of a Motion file as a BVH animation: a 19-joint "
                                          "skeleton with constant bone lengths, metres, Y up.")
    p.add_argument("motion", type=Path, help="Motion file (.npz) written by `posebake estimate`")
    p.add_argument("-o", "--output", type=Path, required=True, help="BVH file to write")
    p.add_argument("--track", type=int, default=0,
                   help="track position in the file, 0 = main subject (default: 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bvh_export import export_bvh
    from posebake_core.motion import Motion

    motion = Motion.load(args.motion)
    out = export_bvh(motion, args.output, track=args.track)
    print(f"wrote {out} ({motion.num_frames} frames at {motion.fps:g} fps, track {args.track})")
    return 0
