"""Job records on disk: one JSON file per job, written atomically, read back at startup.

The service may be killed at any moment (Blender closed, laptop lid, OOM killer). Each state change is
written with write-temp-then-rename, so a record on disk is always a complete old or new version, and a
restart can tell the user what happened to every job instead of silently forgetting it.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from posebake_core.jobs import ErrorCode

log = logging.getLogger("posebake.service")

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = frozenset({"done", "failed", "cancelled"})
INTERRUPTED = ("interrupted: the backend stopped before this job finished (it was {state}); "
               "submit the video again")


@dataclass
class Job:
    """One estimate request and everything a client may want to know about it."""

    id: str
    kind: str  # "upload" or "path"
    source: str  # the uploaded file's name, or the resolved local path
    video: str  # the file the worker reads (inside the state dir for uploads)
    options: dict[str, Any]
    state: str = "queued"
    stage: str = "queued"
    frames_done: int = 0
    frames_total: int | None = None
    fps: float | None = None  # frames processed per second
    eta_s: float | None = None
    error: str | None = None
    error_code: str | None = None  # stable code of `error` (posebake_core.jobs.ErrorCode)
    warnings: list[str] = field(default_factory=list)  # the run worked, but the user should know (a short video)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    def public(self) -> dict[str, Any]:
        """What the API returns: everything but the internal upload location."""
        data = asdict(self)
        data.pop("video")
        data["result_ready"] = self.state == "done"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        known = {f.name for f in fields(cls)}
        job = cls(**{k: v for k, v in data.items() if k in known})
        if job.state not in STATES:
            raise ValueError(f"unknown state {job.state!r}")
        return job


class JobStore:
    """Reads and writes job records under `jobs_dir`; knows where each job's files live."""

    def __init__(self, jobs_dir: Path, uploads_dir: Path, results_dir: Path) -> None:
        self.jobs_dir, self.uploads_dir, self.results_dir = jobs_dir, uploads_dir, results_dir

    def record_path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def result_path(self, job_id: str) -> Path:
        return self.results_dir / f"{job_id}.npz"

    def save(self, job: Job) -> None:
        target = self.record_path(job.id)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=self.jobs_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(job), fh, indent=1)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, job: Job) -> None:
        """Forget a job: its record, its result and its upload."""
        self.result_path(job.id).unlink(missing_ok=True)
        self.discard_upload(job)
        self.record_path(job.id).unlink(missing_ok=True)

    def discard_upload(self, job: Job) -> None:
        if job.kind == "upload":
            Path(job.video).unlink(missing_ok=True)

    def recover(self) -> list[Job]:
        """Load every record; jobs cut short by a stop become failed, stray temp files and uploads go.

        A queued or running job cannot resume (its progress lived in memory), and re-running it silently
        would surprise a user who gave up on it, so it is reported failed with a clear reason.
        """
        jobs: list[Job] = []
        for path in sorted(self.jobs_dir.glob("*.json")):
            try:
                job = Job.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("ignoring unreadable job record %s: %s", path, exc)
                path.rename(path.with_suffix(".corrupt"))
                continue
            if job.state not in FINISHED:
                job.error, job.error_code = INTERRUPTED.format(state=job.state), ErrorCode.INTERRUPTED
                job.state, job.stage, job.finished, job.eta_s = "failed", "interrupted", time.time(), None
                self.result_path(job.id).unlink(missing_ok=True)
                self.save(job)
            elif job.state == "done" and not self.result_path(job.id).is_file():
                job.state, job.stage = "failed", "failed"
                job.error = "the result file of this job is missing from the state directory"
                job.error_code = ErrorCode.RESULT_GONE
                self.save(job)
            jobs.append(job)
        # Every job is finished now, so no upload is still needed; dot-files are unfinished atomic writes.
        for stray in list(self.uploads_dir.iterdir()) + list(self.results_dir.glob(".*")) + \
                list(self.jobs_dir.glob(".*")):
            if stray.is_file():
                stray.unlink(missing_ok=True)
        return jobs
