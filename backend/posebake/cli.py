"""The `posebake` command line.

Each subcommand lives in its own module under `posebake.commands` and exposes
`register(subparsers)`; this file only discovers them, so adding a command never touches shared code.
Commands of other installed packages (the dev tools' `eval` and `train-smoothnet`) come in through the
`posebake.commands` entry-point group, so the runtime never imports them.
Heavy imports (torch, cv2) happen inside the commands, keeping `posebake --help` instant.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import pkgutil
import sys

from posebake_core.atomic import describe_os_error
from posebake_core.errors import PoseBakeError

from . import __version__, commands

ENTRY_POINT_GROUP = "posebake.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posebake", description="Video -> metric 3D motion -> Blender rig.")
    parser.add_argument("--version", action="version", version=f"posebake {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        ep.load().register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PoseBakeError as exc:
        print(f"posebake: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine's state (a full disk, a permission), not a bug of ours
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"posebake: error: {describe_os_error(exc)}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("posebake: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
