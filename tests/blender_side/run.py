"""The one child runner for Blender-side test code: ``python run.py MODULE FUNCTION RESULT_JSON [ARGS...]``.

Why a child process: bpy keeps global state (registered classes, open files) and pip bpy 4.5 can hang at
exit while classes are registered. This imports `tests.blender_side.MODULE` (a real, linted module), calls
FUNCTION(*ARGS), writes the dict it returns to RESULT_JSON (with an "error" key holding the traceback when it
raised) and leaves through ``os._exit`` so a registered add-on cannot hang the exit.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> None:
    module, function, result, args = argv[0], argv[1], argv[2], argv[3:]
    # the add-on from the source checkout and the test helpers (rigbuilder) import by their names
    sys.path[:0] = [str(REPO / "addon"), str(REPO / "tests"), str(REPO)]
    out: dict = {}
    try:
        out = importlib.import_module(f"tests.blender_side.{module}").__dict__[function](*args)
    except BaseException:  # noqa: BLE001 - everything goes back to the test as text
        out = {"error": traceback.format_exc()}
    with open(result, "w") as fh:
        json.dump(out, fh, indent=1, default=str)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
