"""Estimation jobs the add-on runs *outside* Blender, polled without ever blocking the UI.

Two ways to the backend: `ServiceJob` talks to `posebake serve` through `client.py`; `SubprocessJob` runs
`python -m posebake.cli estimate --events` with the backend's own Python, whose progress and errors
arrive as structured events (`posebake_core.jobs`: stage, done, total; error code and message). Both
expose `start()`, `poll()` and `cancel()`. `poll()` returns at once: every HTTP call runs in a
short-lived daemon thread and the subprocess's output is read by one, so a slow network, a big upload or
a busy backend can only delay a progress update, never freeze Blender. No bpy here (the timer that calls
`poll()` lives in `ops.py`), so this module is tested in a plain interpreter too.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from posebake_core.jobs import JOB_OPTIONS, parse_event

from .client import BackendClient, BackendError

ACTIVE = ("starting", "queued", "running", "downloading")


@dataclass
class Progress:
    """What the panel shows. `state` is one of ACTIVE or done / failed / cancelled."""

    state: str = "starting"
    stage: str = "starting"
    fraction: float = 0.0
    eta_s: float | None = None
    message: str = ""
    result_path: str | None = None
    warnings: list[str] = field(default_factory=list)  # the estimate worked, but the user should know

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE


class _Call:
    """One blocking call run in a daemon thread; `done` / `result()` never block the caller."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._event = threading.Event()
        threading.Thread(target=self._run, args=(fn,), daemon=True).start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # handed to the polling side
            self._error = exc
        finally:
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


def _message(exc: BaseException) -> str:
    if isinstance(exc, BackendError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"video not found: {exc.filename}"
    return f"{type(exc).__name__}: {exc}"


class ServiceJob:
    """Upload `video` to the service, follow the job, download the Motion to `dest`."""

    def __init__(self, client: BackendClient, video: str, dest: str, options: dict[str, Any],
                 interval: float = 0.5) -> None:
        self.client, self.video, self.dest, self.options = client, video, dest, options
        self.interval = interval
        self.job_id: str | None = None
        self.progress = Progress()
        self._call: _Call | None = None
        self._phase = "new"
        self._last = 0.0
        self._cancelled = False
        self._warnings: list[str] = []

    def start(self) -> None:
        self._phase = "submit"
        self._call = _Call(lambda: self.client.submit_video(self.video, **self.options))
        self.progress = Progress("starting", "uploading")

    def poll(self) -> Progress:
        if self.progress.finished or self._call is None:
            return self.progress
        if not self._call.done:
            return self.progress
        call, self._call = self._call, None
        try:
            value = call.result()
        except BaseException as exc:
            if self._cancelled:
                return self._set("cancelled", "cancelled")
            return self._set("failed", self._phase, _message(exc))
        if self._phase == "submit":
            self.job_id = value["id"]
            if self._cancelled:  # cancel pressed during the upload
                self._call, self._phase = _Call(lambda: self.client.cancel(self.job_id)), "cancel"
                return self.progress
            self._phase = "status"
            self._update(value)
        elif self._phase == "status":
            self._update(value)
        elif self._phase == "download":
            self._set("done", "done", result_path=value)
            self.progress.warnings = list(self._warnings)
            return self.progress
        elif self._phase == "cancel":
            return self._set("cancelled", "cancelled")
        if self._phase == "status" and not self.progress.finished:
            self._schedule_status()
        return self.progress

    def _schedule_status(self) -> None:
        wait = max(0.0, self.interval - (time.monotonic() - self._last))

        def status() -> dict[str, Any]:
            time.sleep(wait)  # in the worker thread: pacing never costs the UI anything
            self._last = time.monotonic()
            return self.client.status(self.job_id)
        self._call = _Call(status)

    def _update(self, job: dict[str, Any]) -> None:
        state = job.get("state", "queued")
        if state == "done":
            self._warnings = [str(w) for w in job.get("warnings") or []]
            self._phase = "download"
            self.progress = Progress("downloading", "downloading", 1.0, 0.0)
            self._call = _Call(lambda: self.client.result(self.job_id, self.dest))
            return
        if state == "failed":
            self._set("failed", job.get("stage") or "failed",
                      f"the backend could not estimate the motion: {job.get('error') or 'unknown error'}")
            return
        if state == "cancelled":
            self._set("cancelled", "cancelled")
            return
        done, total = job.get("frames_done") or 0, job.get("frames_total") or 0
        frac = min(1.0, done / total) if total else 0.0
        eta = job.get("eta_s")
        self.progress = Progress(state, job.get("stage") or state, frac, eta if isinstance(eta, (int, float)) else None)

    def _set(self, state: str, stage: str, message: str = "", result_path: str | None = None) -> Progress:
        self.progress = Progress(state, stage, self.progress.fraction, None, message, result_path)
        return self.progress

    def cancel(self) -> None:
        """Ask the service to stop; the state turns 'cancelled' on a later poll."""
        self._cancelled = True
        if self.job_id is not None and self._phase in ("status", "download"):
            self._call, self._phase = _Call(lambda: self.client.cancel(self.job_id)), "cancel"
        elif self._phase == "new":
            self._set("cancelled", "cancelled")


def estimate_command(python: str, video: str, dest: str, options: dict[str, Any]) -> list[str]:
    """`posebake estimate` for the backend's Python (`python -m`, so no console script is needed). Options
    that are None are left out, so the estimator's own defaults (K from metadata, learned height) apply."""
    cmd = [python, "-m", "posebake.cli", "estimate", video, "-o", dest, "--events"]
    for spec in JOB_OPTIONS:  # the service's options are the CLI's flags
        if options.get(spec.name) is not None:
            cmd += spec.cli(options[spec.name])
    return cmd


class SubprocessJob:
    """`posebake estimate --events` in a child process; progress and errors read from its event lines."""

    def __init__(self, python: str, video: str, dest: str, options: dict[str, Any]) -> None:
        self.python, self.video, self.dest, self.options = python, video, dest, options
        self.progress = Progress()
        self.proc: subprocess.Popen | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._cancelled = False
        self._t0 = time.monotonic()

    def start(self) -> None:
        if not self.python or not os.path.isfile(self.python):
            self.progress = Progress("failed", "starting", message=f"the backend Python {self.python!r} does not "
                                     "exist: set it in the add-on preferences (the python of the venv where "
                                     "posebake is installed)")
            return
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            self.proc = subprocess.Popen(estimate_command(self.python, self.video, self.dest, self.options),
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env)
        except OSError as exc:
            self.progress = Progress("failed", "starting", message=f"cannot run {self.python}: {exc}")
            return
        threading.Thread(target=self._read, daemon=True).start()
        self._t0 = time.monotonic()
        self.progress = Progress("running", "starting")

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        buf = b""
        while chunk := self.proc.stdout.read1(4096):
            buf += chunk
            *parts, buf = re.split(rb"[\r\n]", buf)
            with self._lock:
                self._lines += [p.decode("utf-8", "replace").strip() for p in parts if p.strip()]
                del self._lines[:-50]

    def poll(self) -> Progress:
        if self.progress.finished or self.proc is None:
            return self.progress
        with self._lock:
            lines = list(self._lines)
        events = [e for e in map(parse_event, lines) if e is not None]
        last = next((e for e in reversed(events) if e.get("event") == "progress"), None)
        if last is not None:
            done, total = int(last.get("done", 0)), int(last.get("total", 0))
            elapsed = time.monotonic() - self._t0
            eta = elapsed * (total - done) / done if done and total >= done else None
            self.progress = Progress("running", str(last.get("stage", "running")),
                                     min(1.0, done / total) if total else 0.0, eta)
        rc = self.proc.poll()
        if rc is None:
            return self.progress
        time.sleep(0.05)  # let the reader take the last lines
        with self._lock:
            lines = list(self._lines)
        events = [e for e in map(parse_event, lines) if e is not None]
        if self._cancelled:
            self.progress = Progress("cancelled", "cancelled")
        elif rc == 0 and os.path.isfile(self.dest):
            self.progress = Progress("done", "done", 1.0, 0.0, result_path=self.dest,
                                     warnings=[str(e.get("message")) for e in events if e.get("event") == "warning"])
        else:
            errs = [e["message"] for e in events if e.get("event") == "error" and e.get("message")]
            detail = errs[-1] if errs else (lines[-1] if lines else f"exit status {rc}")
            self.progress = Progress("failed", self.progress.stage, self.progress.fraction,
                                     message=f"posebake estimate failed: {detail}")
        return self.progress

    def cancel(self) -> None:
        self._cancelled = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        elif self.proc is None:
            self.progress = Progress("cancelled", "cancelled")


def start_backend(python: str, url: str, log_path: str) -> subprocess.Popen:
    """Launch `python -m posebake.cli serve` on the host/port of `url`, detached from Blender's lifetime
    concerns (its output goes to `log_path`). Raises `BackendError` with what to fix."""
    if not python or not os.path.isfile(python):
        raise BackendError(f"the backend Python {python!r} does not exist: set it in the add-on preferences")
    m = re.match(r"^https?://(\[[^\]]+\]|[^:/]+)(?::(\d+))?", url)
    if not m:
        raise BackendError(f"not an http URL: {url!r}")
    host, port = m[1].strip("[]"), m[2] or "8765"
    log = open(log_path, "ab")
    try:
        return subprocess.Popen([python, "-m", "posebake.cli", "serve", "--host", host, "--port", port],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=sys.platform != "win32")
    finally:
        log.close()
