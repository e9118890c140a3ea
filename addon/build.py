"""Package the add-on as a Blender extension zip: `python addon/build.py [--out DIR]`.

Copies the rig presets (`<repo>/rigs/*.json`) into `posebake_blender/rigs_data/`, where the installed add-on
looks for them (`rigs.presets_dir`), then zips the package as `dist/posebake_blender-<version>.zip` with the
manifest at the top of the archive, as Blender's "Install from Disk" expects. Standard library only, so it
needs neither Blender nor make.
"""
from __future__ import annotations

import argparse
import re
import shutil
import zipfile
from pathlib import Path

ADDON = Path(__file__).resolve().parent
PACKAGE = ADDON / "posebake_blender"
REPO = ADDON.parent
SKIP_DIRS = {"__pycache__", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".zip"}


def version() -> str:
    """The `version` of blender_manifest.toml (parsed by regex: tomllib is 3.11+, Blender's Python may vary)."""
    m = re.search(r'^version\s*=\s*"([^"]+)"', (PACKAGE / "blender_manifest.toml").read_text(), re.M)
    if not m:
        raise SystemExit("blender_manifest.toml has no version")
    return m.group(1)


def copy_presets(rigs: Path = REPO / "rigs") -> list[Path]:
    """Refresh rigs_data/ from the repository's presets (stale files removed)."""
    dest = PACKAGE / "rigs_data"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir()
    out = []
    for f in sorted(rigs.glob("*.json")):
        shutil.copy2(f, dest / f.name)
        out.append(dest / f.name)
    if not out:
        raise SystemExit(f"no rig presets in {rigs}")
    return out


def build(out_dir: Path = REPO / "dist", copy_to_tree: bool = True) -> Path:
    """Copy presets and write the zip; returns its path. With `copy_to_tree=False` (tests, and anyone
    running beside other work in the same checkout) the presets go straight from rigs/ into the zip and
    the source tree is left as it is."""
    if copy_to_tree:
        copy_presets()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"posebake_blender-{version()}.zip"
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(PACKAGE.rglob("*")):
            rel = f.relative_to(PACKAGE)
            if f.is_dir() or SKIP_DIRS.intersection(rel.parts) or f.suffix in SKIP_SUFFIXES:
                continue
            if not copy_to_tree and rel.parts[0] == "rigs_data":
                continue
            zf.write(f, rel.as_posix())
        if not copy_to_tree:
            for f in sorted((REPO / "rigs").glob("*.json")):
                zf.write(f, f"rigs_data/{f.name}")
    tmp.replace(target)
    return target


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "dist", help="folder for the zip (default: dist/)")
    ap.add_argument("--no-copy", action="store_true", help="zip the presets from rigs/ without writing rigs_data/")
    a = ap.parse_args()
    print(build(a.out, copy_to_tree=not a.no_copy))
