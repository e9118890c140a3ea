"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, a cancel, a full disk or an exception never leaves a half-written output at the target path, and
an existing file at the target is replaced only once the new one is complete. Output targets are checked
before any work starts (`check_output`), so a bad target fails in a second, not after minutes of estimation.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import PoseBakeError

#: errno values that mean "the disk (or the quota, or the file-size limit) is full", not a bug.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def describe_os_error(exc: BaseException) -> str:
    """A one-line reason for a failed write: disk full said plainly, else the OS's own words."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return _NO_SPACE_TEXT
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__
    for marker in ("No space left on device", "File too large", "Disk quota exceeded"):
        if marker in text:  # an OSError reported through a library as text (Blender's exporters)
            return _NO_SPACE_TEXT
    return text.strip().splitlines()[-1] if text.strip() else type(exc).__name__


#: Bytes a probe write tries after a library's failed write (16 MiB: more than any limit that would let a
#: .blend or an export through, little enough to cost nothing when the disk is fine).
PROBE_BYTES = 16 << 20
_NO_SPACE_TEXT = "no space left on the device (or the disk quota / file-size limit is reached)"


def describe_write_failure(exc: BaseException, directory: str | os.PathLike) -> str:
    """`describe_os_error`, and where the error's own words are not about space (Blender 4.5 reports a
    write stopped by a full disk or a file-size limit as "No such file or directory", errno being stale by
    then) a real probe write in `directory` decides: if it cannot write PROBE_BYTES either, space it is."""
    text = describe_os_error(exc)
    if text == _NO_SPACE_TEXT:
        return text
    try:
        with tempfile.TemporaryFile(prefix=".posebake-space-probe-", dir=directory) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(PROBE_BYTES // len(chunk)):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as probe:
        if probe.errno in NO_SPACE:
            return _NO_SPACE_TEXT
    return text


def check_writable_dir(path: Path) -> None:
    """Fail early, with a clear message, if `path` cannot be created as a file (a real write is tried:
    `os.access` says yes to root even on a read-only mount)."""
    target = Path(path)
    try:
        if target.is_dir():
            raise PoseBakeError(f"the output {target} is a directory; give a file name")
        parent = target.resolve().parent
    except (OSError, RuntimeError, ValueError) as exc:  # a loop, an over-long name, a NUL byte
        raise PoseBakeError(f"bad output path {str(target)!r}: {describe_os_error(exc)}") from None
    if not parent.is_dir():
        raise PoseBakeError(f"output directory does not exist: {parent}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".posebake-probe-", dir=parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise PoseBakeError(f"cannot write to {parent}: {describe_os_error(exc)}") from None


def check_output(path: Path, suffixes: Sequence[str], what: str) -> None:
    """`path` must end in one of `suffixes` and be creatable; called before any work starts."""
    if Path(path).suffix.lower() not in suffixes:
        raise PoseBakeError(f"the {what} must end in {' or '.join(suffixes)}, got {path}")
    check_writable_dir(path)


def _temp_beside(target: Path, suffix: str | None) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent,
                                   suffix=suffix if suffix is not None else target.suffix)
    except OSError as exc:
        raise PoseBakeError(f"cannot write {target}: {describe_os_error(exc)}") from None
    os.close(fd)
    return Path(tmp)


def _publish(tmp: Path, target: Path) -> None:
    # mkstemp creates 0600; give the result the mode a plain open() would (0666 minus the umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto `path` if the block succeeds.

    `suffix` defaults to the target's suffix, so writers that pick a format by extension (np.savez adds
    `.npz` when missing, OpenCV picks a codec) behave as if writing the real file. A write that fails for
    lack of space becomes a `PoseBakeError` naming the target.
    """
    target = Path(path)
    check_writable_dir(target)
    tmp_path = _temp_beside(target, suffix)
    try:
        yield tmp_path
        _publish(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise PoseBakeError(f"cannot write {target}: {describe_os_error(exc)}") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_outputs(paths: Iterable[str | os.PathLike | None]) -> Iterator[dict[Path, Path]]:
    """Temporary paths for several outputs of one command, published together only if all succeed.

    Yields {target: temporary path} (None entries skipped). A command that writes a .blend, an FBX and a
    preview leaves either all of them or none: a failure in the last never leaves the first behind.
    """
    targets = [Path(p) for p in paths if p is not None]
    staged: dict[Path, Path] = {}
    try:
        for t in targets:
            check_writable_dir(t)
            staged[t] = _temp_beside(t, None)
        try:
            yield staged
        except PoseBakeError as exc:  # name the user's files, not their temporaries
            msg = str(exc)
            for t, tmp in staged.items():
                msg = msg.replace(str(tmp.resolve()), str(t)).replace(str(tmp), str(t))
            raise PoseBakeError(msg) from None
        for t, tmp in staged.items():
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise PoseBakeError(f"nothing was written for {t}")
        for t, tmp in staged.items():
            _publish(tmp, t)
    except OSError as exc:
        raise PoseBakeError(f"cannot write the outputs: {describe_os_error(exc)}") from None
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
