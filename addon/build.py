"""Package the add-on as a Blender extension zip: `python addon/build.py [--out DIR]`.

Zips the package as `dist/posebake_blender-<version>.zip` with the manifest at the top of the archive, as
Blender's "Install from Disk" expects.

The shared core (`<repo>/core/posebake_core`, numpy only, with the rig presets as package data) travels as a
bundled wheel: the build writes
`wheels/posebake_core-<version>-py3-none-any.whl` into the zip and lists it under `wheels` in the zip's
manifest, and Blender's extension installer puts it on the add-on's path (extensions support bundled wheels
since 4.2). So the add-on imports the very code the backend runs, not a copy. Standard library only, so it
needs neither Blender nor make.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path

ADDON = Path(__file__).resolve().parent
PACKAGE = ADDON / "posebake_blender"
REPO = ADDON.parent
CORE = REPO / "core" / "posebake_core"
SKIP_DIRS = {"__pycache__", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".zip"}


def version() -> str:
    """The `version` of blender_manifest.toml (parsed by regex: tomllib is 3.11+, Blender's Python may vary)."""
    m = re.search(r'^version\s*=\s*"([^"]+)"', (PACKAGE / "blender_manifest.toml").read_text(), re.M)
    if not m:
        raise SystemExit("blender_manifest.toml has no version")
    return m.group(1)


def core_version() -> str:
    m = re.search(r'^__version__\s*=\s*"([^"]+)"', (CORE / "__init__.py").read_text(), re.M)
    if not m:
        raise SystemExit("core/posebake_core/__init__.py has no __version__")
    return m.group(1)


def _files(root: Path) -> list[Path]:
    return [f for f in sorted(root.rglob("*")) if f.is_file() and not SKIP_DIRS.intersection(f.relative_to(root).parts)
            and f.suffix not in SKIP_SUFFIXES]


def core_wheel() -> tuple[str, bytes]:
    """(file name, bytes) of a pure-Python wheel of the core (PEP 427 layout, RECORD with sha256 digests)."""
    ver = core_version()
    dist = f"posebake_core-{ver}.dist-info"
    entries = [(f"posebake_core/{f.relative_to(CORE).as_posix()}", f.read_bytes()) for f in _files(CORE)]
    entries += [(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: posebake-core\nVersion: {ver}\n"
                 "Summary: PoseBake's numpy-only core (Motion contract, retarget solve)\n"
                 "License: Apache-2.0\nRequires-Dist: numpy\n".encode()),
                (f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: posebake-addon-build\nRoot-Is-Purelib: true\n"
                 b"Tag: py3-none-any\n")]
    record = []
    for name, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    entries.append((f"{dist}/RECORD", ("\n".join(record) + "\n").encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return f"posebake_core-{ver}-py3-none-any.whl", buf.getvalue()


def manifest_with_wheels(text: str, wheels: list[str]) -> str:
    """The manifest with a top-level `wheels = [...]` (before the first table, as TOML requires)."""
    if re.search(r"^wheels\s*=", text, re.M):
        raise SystemExit("blender_manifest.toml lists wheels itself; the build adds the core's")
    line = "wheels = [" + ", ".join(f'"./wheels/{w}"' for w in wheels) + "]\n\n"
    first_table = re.search(r"^\[", text, re.M)
    at = first_table.start() if first_table else len(text)
    return text[:at] + line + text[at:]


def build(out_dir: Path = REPO / "dist", backend_wheel: Path | None = None) -> Path:
    """Write the zip (through a temporary name, so a failed build leaves no half zip); returns its path.
    `backend_wheel` (`make addon` passes the one `make wheel` built) goes in as `backend_wheel/`, where the
    "Install backend" operator installs it from (`install.bundled_wheel`); without it, that operator takes
    `posebake` from the package index."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"posebake_blender-{version()}.zip"
    tmp = target.with_suffix(".zip.tmp")
    try:
        _write(tmp, backend_wheel)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    return target


def _write(tmp: Path, backend_wheel: Path | None) -> None:
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(PACKAGE.rglob("*")):
            rel = f.relative_to(PACKAGE)
            if f.is_dir() or SKIP_DIRS.intersection(rel.parts) or f.suffix in SKIP_SUFFIXES:
                continue
            if rel.as_posix() == "blender_manifest.toml":
                continue
            zf.write(f, rel.as_posix())
        wheel_name, wheel = core_wheel()
        zf.writestr("wheels/" + wheel_name, wheel)
        zf.writestr("blender_manifest.toml",
                    manifest_with_wheels((PACKAGE / "blender_manifest.toml").read_text(), [wheel_name]))
        if backend_wheel is not None:
            if not re.fullmatch(r"posebake-[^-]+-py3-none-any\.whl", backend_wheel.name):
                raise SystemExit(f"{backend_wheel} is not a PoseBake wheel (posebake-VERSION-py3-none-any.whl)")
            zf.write(backend_wheel, f"backend_wheel/{backend_wheel.name}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "dist", help="folder for the zip (default: dist/)")
    ap.add_argument("--backend-wheel", type=Path, help="a PoseBake wheel to bundle for 'Install backend'")
    a = ap.parse_args()
    print(build(a.out, a.backend_wheel))
