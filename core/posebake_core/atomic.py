"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, a cancel or an exception never leaves a half-written output at the target path, and an existing
file at the target is replaced only once the new one is complete.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import PoseBakeError


def check_writable_dir(path: Path) -> None:
    """Fail early, with a clear message, if `path`'s directory cannot take a new file."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise PoseBakeError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PoseBakeError(f"output directory is not writable: {parent}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto `path` if the block succeeds.

    `suffix` defaults to the target's suffix, so writers that pick a format by extension (np.savez adds
    `.npz` when missing, OpenCV picks a codec) behave as if writing the real file.
    """
    target = Path(path)
    check_writable_dir(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix if suffix is not None else target.suffix,
                               dir=target.resolve().parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the result the mode a plain open() would (0666 minus the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
