"""PoseBake Blender add-on: a "PoseBake" tab in the 3D Viewport sidebar that turns a video into an Action.

Nothing here imports bpy at module level: the pure-numpy parts (`retarget`, `rigs`, `io`) and the
stdlib `client` stay importable in a plain interpreter, and `headless.py` imports the bpy side itself.
The UI modules are imported on `register()` only.
"""
from __future__ import annotations

#: The add-on's module name, used as the preferences id ("bl_ext.<repo>.posebake" when installed as an
#: extension, "posebake_blender" from a source checkout).
ADDON_ID = __package__ or __name__


#: the name scripts import the add-on by (`from posebake_blender import api`), whatever Blender installed it as
STABLE_NAME = "posebake_blender"


def _alias_stable_name() -> None:
    """Make an extension installed as `bl_ext.<repo>.posebake_blender` importable as `posebake_blender`
    (and `posebake_blender.api`), pointing at these very modules, not at a second copy."""
    import sys

    from . import api

    if __name__ != STABLE_NAME:
        sys.modules.setdefault(STABLE_NAME, sys.modules[__name__])
        sys.modules.setdefault(f"{STABLE_NAME}.api", api)


def register() -> None:
    from . import install_ops, mapping, ops, props, script_ops, ui
    props.register()
    ops.register()
    install_ops.register()
    script_ops.register()
    mapping.register()
    ui.register()
    _alias_stable_name()


def unregister() -> None:
    import sys

    from . import install_ops, mapping, ops, props, script_ops, ui
    ops.stop_polling()
    ui.unregister()
    mapping.unregister()
    script_ops.unregister()
    install_ops.unregister()
    ops.unregister()
    props.unregister()
    if __name__ != STABLE_NAME and sys.modules.get(STABLE_NAME) is sys.modules[__name__]:
        del sys.modules[STABLE_NAME]
        sys.modules.pop(f"{STABLE_NAME}.api", None)
