"""Where the service keeps its files and what it accepts.

The token lives in a *user config* file (it identifies the owner, survives reinstalls and is read by the
add-on), while jobs, uploads and results live in a *state* directory (disposable data that can be large).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from posebake_core.errors import PoseBakeError
from posebake_core.paths import service_config_path, xdg_dir

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD = 2 * 1024 ** 3  # 2 GiB: a long phone video, not a disk-filling accident
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Seconds an upload may go without sending data before it is dropped (408). A phone on bad Wi-Fi pauses
#: for seconds, not a minute; a client that sends nothing for a minute has gone.
DEFAULT_UPLOAD_TIMEOUT_S = 60.0
#: Finished jobs (and their results) are kept this long, and at most this many: the server's disk and
#: memory must not grow with every job it ever ran. A week covers a weekend away from the project.
DEFAULT_KEEP_HOURS = 24.0 * 7
DEFAULT_KEEP_JOBS = 200

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def config_path() -> Path:
    """The user config file holding the token (the rule the add-on reads it by: `posebake_core.paths`)."""
    return service_config_path()


def default_state_dir() -> Path:
    """Jobs, uploads and results: $XDG_STATE_HOME/posebake/service, else ~/.local/state/posebake/service."""
    return xdg_dir("STATE", ".local/state") / "service"


def parse_size(text: str) -> int:
    """'2G', '500M', '1048576' -> bytes (binary units), with a clear error for anything else."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise PoseBakeError(f"not a size: {text!r} (use e.g. 2G, 500M or a number of bytes)") from None
    if not value > 0:
        raise PoseBakeError(f"the upload limit must be positive, got {text!r}")
    return int(value)


@dataclass
class ServiceConfig:
    """Everything the app needs to know, resolved once at startup."""

    state_dir: Path = field(default_factory=default_state_dir)
    config_file: Path = field(default_factory=config_path)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    device: str = "auto"
    allowed_roots: tuple[Path, ...] = ()
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    upload_timeout_s: float = DEFAULT_UPLOAD_TIMEOUT_S
    keep_hours: float = DEFAULT_KEEP_HOURS
    keep_jobs: int = DEFAULT_KEEP_JOBS

    def __post_init__(self) -> None:
        if not self.upload_timeout_s > 0:
            raise PoseBakeError(f"--upload-timeout must be positive, got {self.upload_timeout_s:g}")
        if not self.keep_hours > 0 or self.keep_jobs < 1:
            raise PoseBakeError(f"--keep-hours must be positive and --keep-jobs at least 1, got "
                                f"{self.keep_hours:g} and {self.keep_jobs}")
        if self.workers < 1:
            raise PoseBakeError(f"--workers must be at least 1, got {self.workers}")
        if not 0 <= self.port <= 65535:
            raise PoseBakeError(f"--port must be in 0..65535, got {self.port}")
        roots = []
        for r in self.allowed_roots:
            p = Path(r).expanduser().resolve()  # symlinks resolved once, so containment checks compare real paths
            if not p.is_dir():
                raise PoseBakeError(f"--allowed-root {r} is not a directory")
            roots.append(p)
        self.allowed_roots = tuple(roots)
        self.state_dir = Path(self.state_dir).expanduser().resolve()

    @property
    def jobs_dir(self) -> Path:
        return self.state_dir / "jobs"

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"

    @property
    def results_dir(self) -> Path:
        return self.state_dir / "results"

    def make_dirs(self) -> None:
        """Create the state directories, private to the owner (they hold the user's videos)."""
        for d in (self.state_dir, self.jobs_dir, self.uploads_dir, self.results_dir):
            try:
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise PoseBakeError(f"cannot create the state directory {d}: {exc}") from None


def lock_state_dir(state_dir: Path) -> IO[str]:
    """Hold an exclusive lock on the state directory for the life of the process.

    A second server on the same state directory would take the first one's running jobs for interrupted
    ones and mark them failed; the lock makes it refuse to start instead. The OS drops the lock when the
    process dies, even by SIGKILL, so a crash never leaves a stale lock behind.
    """
    fh = open(state_dir / "service.lock", "a+", encoding="utf-8")
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise PoseBakeError(f"another `posebake serve` is already using the state directory {state_dir}; stop "
                            "it, or give this one its own --state-dir") from None
    return fh
