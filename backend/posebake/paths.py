"""Well-known locations: the model cache and the shared test data."""
from __future__ import annotations

import os
from pathlib import Path

from posebake_core.paths import xdg_dir

__all__ = ["cache_dir", "repo_root", "shared_data", "xdg_dir"]


def cache_dir() -> Path:
    """Model cache: $POSEBAKE_CACHE, else $XDG_CACHE_HOME/posebake, else ~/.cache/posebake."""
    env = os.environ.get("POSEBAKE_CACHE")
    return Path(env).expanduser() if env else xdg_dir("CACHE", ".cache")


def repo_root() -> Path:
    """The source checkout this package was installed from (editable installs)."""
    return Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    """Shared real test data: $POSEBAKE_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("POSEBAKE_DATA")
    return Path(env) if env else repo_root().parent / "shared" / "data"
