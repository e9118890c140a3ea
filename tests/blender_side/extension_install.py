"""Blender's own extension installer on the built zip, with the development install of the core hidden,
so the add-on can only work if the zip's bundled core wheel was installed."""
from __future__ import annotations

import importlib.util
import sys


def _hide_development_core() -> None:
    """Drop the editable-install finder and source paths: `posebake_core` must come from the wheel."""
    def editable(obj: object) -> bool:  # setuptools' finders are classes: look at the object's own module
        return str(getattr(obj, "__module__", "")).startswith("__editable__")

    sys.meta_path[:] = [f for f in sys.meta_path if not editable(f)]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p
                   and not p.rstrip("/").endswith(("/core", "/backend", "/tools", "/addon"))]
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m.split(".")[0] in ("posebake_core", "posebake", "posebake_dev", "posebake_blender")]:
        del sys.modules[name]


def install(zip_path: str) -> dict:
    """Install and enable the extension zip; report what Blender registered and where the core came from."""
    _hide_development_core()
    out: dict = {"core_before": importlib.util.find_spec("posebake_core") is not None}
    import bpy

    out["blender"] = list(bpy.app.version)
    out["install"] = sorted(bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                                    enable_on_install=True))
    out["enabled"] = [k for k in bpy.context.preferences.addons.keys() if "posebake" in k]
    out["panel"] = hasattr(bpy.types, "VIEW3D_PT_posebake")
    out["prefs"] = type(bpy.context.preferences.addons[out["enabled"][0]].preferences).__name__
    from posebake_blender import api  # the stable name scripts use, answered by the installed extension

    out["api"] = api.__name__
    out["api_version"] = api.API_VERSION
    out["bake_file_operator"] = "bake_file" in dir(bpy.ops.posebake)
    import posebake_core
    from posebake_core.motion import SCHEMA

    out["core"] = posebake_core.__file__
    out["schema"] = SCHEMA
    return out
