"""The job queue and its worker threads.

Each worker owns one warm `Estimator` (models loaded once at startup), so workers never share mutable
model state and need no lock around inference. A job's cancel `Event` is passed to `Estimator.run`, which
checks it between batches: a cancelled running job stops within one batch and keeps no result.
"""
from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Protocol

from posebake_core.errors import PoseBakeError
from posebake_core.jobs import ErrorCode
from posebake_core.motion import Motion

from .store import FINISHED, Job, JobStore

log = logging.getLogger("posebake.service")

PERSIST_EVERY_S = 1.0  # progress is persisted at most this often; state changes always


class EstimatorLike(Protocol):
    def run(self, video: Any, opts: Any = None, progress: Any = None, cancel: Any = None) -> Motion: ...


class ShuttingDown(PoseBakeError):
    """The service is stopping and takes no new jobs (HTTP 503)."""


def new_job_id() -> str:
    """Unguessable ids: knowing one job's id tells nothing about another's."""
    return secrets.token_urlsafe(12)


class JobManager:
    """Owns every job: the in-memory table (authoritative while running), its records and the queue."""

    def __init__(self, store: JobStore, estimators: list[EstimatorLike], device: str = "auto",
                 keep_hours: float = 24.0 * 7, keep_jobs: int = 200) -> None:
        self.store = store
        self.keep_s, self.keep_jobs = keep_hours * 3600.0, keep_jobs
        self._estimators = estimators
        self._device = device
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._user_cancelled: set[str] = set()
        self._queue: "queue.Queue[str | None]" = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._last_persist: dict[str, float] = {}

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load the records of earlier runs (interrupted jobs become failed), then start the workers."""
        for job in self.store.recover():
            self._jobs[job.id] = job
        with self._lock:
            self._expire()
        for i, estimator in enumerate(self._estimators):
            t = threading.Thread(target=self._work, args=(estimator,), name=f"posebake-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop taking jobs, stop the running ones at their next batch, record all unfinished as failed."""
        with self._lock:
            self._stopping = True
            for event in self._cancel.values():
                event.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            for job in self._jobs.values():
                if job.state not in FINISHED:
                    self._finish(job, "failed", code=ErrorCode.INTERRUPTED,
                                 error="interrupted: the backend was shut down before this job "
                                       "finished; submit the video again")

    # -- API used by the routes -------------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        with self._lock:
            if self._stopping:
                raise ShuttingDown("the backend is shutting down; try again once it has restarted")
            self._jobs[job.id] = job
            self._cancel[job.id] = threading.Event()
            self.store.save(job)
            self._queue.put(job.id)
            return replace(job)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else replace(job)

    def list(self) -> list[Job]:
        with self._lock:
            return sorted((replace(j) for j in self._jobs.values()), key=lambda j: j.created)

    def counts(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for j in self._jobs.values():
                out[j.state] = out.get(j.state, 0) + 1
            return out

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or running job; a finished one is forgotten (record, result and all).

        Either way nothing of it is kept: the caller said it does not want this job's output.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.state in FINISHED:
                self.store.remove(job)
                del self._jobs[job_id]
                self._cancel.pop(job_id, None)
                return replace(job)
            self._user_cancelled.add(job_id)
            self._cancel[job_id].set()
            if job.state == "queued":  # the worker will skip it
                self._finish(job, "cancelled")
            else:
                job.stage = "cancelling"
                self.store.save(job)
            return replace(job)

    def result_path(self, job_id: str) -> Path:
        return self.store.result_path(job_id)

    # -- workers ----------------------------------------------------------------------------------------
    def _finish(self, job: Job, state: str, error: str | None = None, code: str | None = None) -> None:
        """Move `job` to a final state (caller holds the lock): persist it, drop its upload."""
        job.state, job.stage, job.error = state, state, error
        job.error_code = code if error else None
        job.finished, job.eta_s = time.time(), None
        self.store.discard_upload(job)
        if state != "done":
            self.store.result_path(job.id).unlink(missing_ok=True)
        self.store.save(job)
        self._last_persist.pop(job.id, None)
        self._cancel.pop(job.id, None)
        self._user_cancelled.discard(job.id)
        self._expire()

    def _expire(self) -> None:
        """Forget finished jobs older than the retention age, and the oldest beyond the retention count
        (caller holds the lock): records, results and memory stay bounded however many jobs run."""
        done = sorted((j for j in self._jobs.values() if j.state in FINISHED),
                      key=lambda j: j.finished or j.created, reverse=True)
        cutoff = time.time() - self.keep_s
        for k, job in enumerate(done):
            if k >= self.keep_jobs or (job.finished or job.created) < cutoff:
                self.store.remove(job)
                del self._jobs[job.id]

    def _progress(self, job: Job, t0: float) -> Callable[[str, int, int], None]:
        def report(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            with self._lock:
                job.stage, job.frames_done, job.frames_total = stage, int(done), int(total)
                elapsed = now - t0
                job.fps = done / elapsed if elapsed > 0 and done else None
                job.eta_s = (total - done) / job.fps if job.fps else None
                if now - self._last_persist.get(job.id, 0.0) >= PERSIST_EVERY_S:
                    self._last_persist[job.id] = now
                    self.store.save(job)
        return report

    def _work(self, estimator: EstimatorLike) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.state != "queued" or self._stopping:
                    continue
                job.state, job.stage, job.started = "running", "starting", time.time()
                cancel = self._cancel[job_id]
                self.store.save(job)
            self._run(estimator, job, cancel)

    def _run(self, estimator: EstimatorLike, job: Job, cancel: threading.Event) -> None:
        from ..estimate import Cancelled, EstimateOptions

        result = self.store.result_path(job.id)
        try:
            opts = EstimateOptions(device=self._device, **job.options)
            motion = estimator.run(job.video, opts, progress=self._progress(job, time.monotonic()), cancel=cancel)
            warnings = [w.replace(job.video, job.source) for w in getattr(estimator, "warnings", [])]
            if job.kind == "upload":  # the upload is deleted; name the file the user sent
                motion = replace(motion, source_video=job.source)
            with self._lock:
                if cancel.is_set():
                    raise Cancelled("cancelled")
                job.stage = "saving"
            motion.save(result)  # atomic: a crash here leaves no partial result
            with self._lock:
                if cancel.is_set():
                    raise Cancelled("cancelled")
                job.warnings = warnings
                self._finish(job, "done")
        except Cancelled:
            self._end_cancelled(job)
        except PoseBakeError as exc:
            with self._lock:
                self._finish(job, "failed", error=str(exc).replace(job.video, job.source),
                             code=getattr(exc, "code", ErrorCode.ESTIMATE_FAILED))
        except Exception as exc:  # a bug: keep the service alive, tell the client, log the traceback
            log.exception("job %s failed with an internal error", job.id)
            with self._lock:
                self._finish(job, "failed", code=ErrorCode.INTERNAL,
                             error=f"internal error ({type(exc).__name__}: {exc}); see the server log")

    def _end_cancelled(self, job: Job) -> None:
        with self._lock:
            if job.id in self._user_cancelled:
                self._finish(job, "cancelled")
            else:
                self._finish(job, "failed", code=ErrorCode.INTERRUPTED,
                             error="interrupted: the backend was shut down before this job "
                                   "finished; submit the video again")
