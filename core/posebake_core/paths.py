"""Per-user locations both sides must agree on (the backend writes, the add-on reads): standard library only.

The XDG base-directory rule, the backend's service config (its token and URL, which the add-on reads) and
the user's rig presets (saved by the add-on's mapping editor, read by `posebake bake --preset` too).
"""
from __future__ import annotations

import os
from pathlib import Path


# The built-in rig presets (one JSON file per rig family), package data of the core.
PRESETS_DIR = Path(__file__).resolve().parent / "rigs"


def xdg_dir(kind: str, fallback: str) -> Path:
    """$XDG_<KIND>_HOME/posebake, else ~/<fallback>/posebake (the XDG base-directory convention)."""
    xdg = os.environ.get(f"XDG_{kind}_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / fallback
    return base / "posebake"


def service_config_path() -> Path:
    """The backend's config file (token, URL): $POSEBAKE_CONFIG, else $XDG_CONFIG_HOME/posebake/service.json,
    else ~/.config/posebake/service.json."""
    env = os.environ.get("POSEBAKE_CONFIG")
    return Path(env).expanduser() if env else xdg_dir("CONFIG", ".config") / "service.json"


def user_presets_dir() -> Path:
    """Rig presets the user saved: $POSEBAKE_PRESETS, else $XDG_CONFIG_HOME/posebake/rigs, else
    ~/.config/posebake/rigs, beside the backend's service.json."""
    env = os.environ.get("POSEBAKE_PRESETS")
    return Path(env).expanduser() if env else xdg_dir("CONFIG", ".config") / "rigs"
