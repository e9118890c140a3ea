"""The "Install backend" operator: `install.Installer` driven from the add-on's preferences.

In the UI the install runs in a thread and a timer reports its steps in the preferences (and the status
bar); a script or a headless test passes `wait=True` and gets the finished result at once (timers never
fire in pip bpy). Either way the preferences' backend Python changes only after the new environment
passed `posebake models info`.
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, StringProperty

from . import install
from .props import get_prefs

def _select(context, python: str) -> None:
    prefs = get_prefs(context)
    prefs.python_path = python
    prefs.mode = "SERVICE"  # "Start local backend" then runs the new environment's `posebake serve`


def _redraw() -> None:
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()


def _poll() -> float | None:
    """Timer: redraw while running; select the environment once it succeeded."""
    _redraw()
    active = install.ACTIVE
    if active is None or active.state == "running":
        return 0.5
    if active.state == "done" and active.result:
        _select(bpy.context, active.result)
    return None


class POSEBAKE_OT_install_backend(bpy.types.Operator):
    """Create a Python environment outside Blender with PoseBake, the right torch and the models, then use it"""

    bl_idname = "posebake.install_backend"
    bl_label = "Install backend"

    python: StringProperty(name="Base Python", subtype="FILE_PATH", default="",
                           description="Python 3.11-3.13 to build the environment from; empty: the newest found")
    wheel: StringProperty(name="PoseBake wheel", subtype="FILE_PATH", default="",
                          description="Empty: the wheel bundled with the extension, else posebake from the index")
    torch_requirement: StringProperty(name="Torch", default="",
                                      description="Empty: chosen for this machine (CUDA, MPS or CPU)")
    torch_index: StringProperty(name="Torch index", default="",
                                description="With a torch requirement: the index to take it from (empty: pip's)")
    wait: BoolProperty(name="Wait", default=False, options={"SKIP_SAVE"},
                       description="Install before returning (scripts; the UI runs it in the background)")

    def execute(self, context) -> set[str]:
        if install.ACTIVE is not None and install.ACTIVE.state == "running":
            self.report({"ERROR"}, "an install is already running: " + install.status_line())
            return {"CANCELLED"}
        try:
            python = install.find_base_python(bpy.path.abspath(self.python) if self.python else "")
            wheel = bpy.path.abspath(self.wheel) if self.wheel else install.bundled_wheel()
            if wheel:
                install.check_wheel(wheel)
            torch = (install.TorchChoice(self.torch_requirement, self.torch_index or None, self.torch_requirement)
                     if self.torch_requirement else install.choose_torch())
            active = install.ACTIVE = install.Installer(python, wheel, torch)
        except install.InstallError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if not self.wait:
            active.start()
            bpy.app.timers.register(_poll, first_interval=0.5)
            self.report({"INFO"}, f"installing the backend into {active.env} (log: {active.log})")
            return {"FINISHED"}
        try:
            result = active.run()
        except install.InstallError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        _select(context, result)
        self.report({"INFO"}, f"backend installed: {result}")
        return {"FINISHED"}


CLASSES = (POSEBAKE_OT_install_backend,)

register, unregister = bpy.utils.register_classes_factory(CLASSES)
