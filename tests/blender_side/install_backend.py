"""The add-on's "Install backend" operator inside pip bpy: a damaged wheel, no package index, then a real
install from a locally built wheel. Run with POSEBAKE_ENVS pointing at the test's folder."""
from __future__ import annotations

import os
import time
from pathlib import Path


def main(wheel: str, broken: str, python: str, torch_requirement: str, offline_links: str) -> dict:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    import posebake_blender as pb

    pb.register()
    from posebake_blender import install, install_ops, props

    prefs = props.FALLBACK
    prefs.python_path = before = "/previous/backend/python"
    root = install.envs_dir()

    def attempt(wait: bool = True, **kw: str) -> dict:
        statuses: list[str] = []
        try:
            result = sorted(bpy.ops.posebake.install_backend(python=python, torch_requirement=torch_requirement,
                                                             wait=wait, **kw))
            error = ""
        except RuntimeError as exc:  # an operator that reports ERROR raises here
            result, error = ["CANCELLED"], str(exc)
        if not wait:  # the UI's way: a thread, and a timer (called here: timers never fire headless)
            t0 = time.monotonic()
            while install_ops._poll() is not None and time.monotonic() - t0 < 600:
                statuses.append(install.status_line())
                time.sleep(0.2)
            statuses.append(install.status_line())
            error = install.ACTIVE.message if install.ACTIVE.state == "failed" else error
        left = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        return {"result": result, "error": error, "python_path": prefs.python_path, "envs": left,
                "statuses": list(dict.fromkeys(statuses)),
                "logs": sorted(p.name for p in root.glob("*.log")) if root.is_dir() else []}

    out = {"damaged": attempt(wheel=broken)}
    # no package index: pip may look only in an empty folder, so the first download (torch) fails
    saved = {k: os.environ.get(k) for k in ("PIP_NO_INDEX", "PIP_FIND_LINKS")}
    os.environ.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=offline_links)
    try:
        out["offline"] = attempt(wheel=wheel, wait=False)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    out["ok"] = attempt(wheel=wheel)
    out["before"] = before
    out["blender_prefix"] = os.path.realpath(bpy.app.binary_path_python if hasattr(bpy.app, "binary_path_python")
                                             else os.sys.prefix)
    out["mode"] = prefs.mode
    out["marker"] = (Path(prefs.python_path).parents[1] / install.MARKER).read_text() \
        if out["ok"]["result"] == ["FINISHED"] else ""
    pb.unregister()
    return out
