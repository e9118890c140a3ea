"""The `posebake` command line.

Each subcommand lives in its own module under `posebake.commands` and exposes
`register(subparsers)`; this file only discovers them, so adding a command never touches shared code.
Heavy imports (torch, cv2) happen inside the commands, keeping `posebake --help` instant.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .errors import PoseBakeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posebake", description="Video -> metric 3D motion -> Blender rig.")
    parser.add_argument("--version", action="version", version=f"posebake {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PoseBakeError as exc:
        print(f"posebake: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("posebake: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
