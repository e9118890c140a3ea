"""PoseBake Blender add-on: a "PoseBake" tab in the 3D Viewport sidebar that turns a video into an Action.

Nothing here imports bpy at module level: the pure-numpy parts (`retarget`, `rigs`, `io`) and the
stdlib `client` stay importable in a plain interpreter, and `headless.py` imports the bpy side itself.
The UI modules are imported on `register()` only.
"""
from __future__ import annotations

#: The add-on's module name, used as the preferences id ("bl_ext.<repo>.posebake" when installed as an
#: extension, "posebake_blender" from a source checkout).
ADDON_ID = __package__ or __name__


def register() -> None:
    from . import mapping, ops, props, ui
    props.register()
    ops.register()
    mapping.register()
    ui.register()


def unregister() -> None:
    from . import mapping, ops, props, ui
    ops.stop_polling()
    ui.unregister()
    mapping.unregister()
    ops.unregister()
    props.unregister()
