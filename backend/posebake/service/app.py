"""The HTTP routes. Everything but /health needs the bearer token; there is deliberately no CORS.

Without CORS headers a web page in the user's browser cannot read any answer from this service, and
without the token (in a 0600 file) it cannot make one either, even though the port is on loopback.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from posebake_core.errors import PoseBakeError
from posebake_core.jobs import ErrorCode, json_schema

from .. import __version__
from ..decode import probe
from .auth import TokenCheck
from .config import ServiceConfig
from .errors import ApiError, error_responses, install
from .jobs import JobManager, ShuttingDown, new_job_id
from .options import OptionError, check_focal, check_range, parse_options
from .store import Job
from .upload import read_submission

log = logging.getLogger("posebake.service")

def submit_doc() -> dict[str, Any]:
    """The request body of POST /jobs, generated from the one job-options schema (`posebake_core.jobs`):
    a multipart upload (`file`) or a local `path`, as form fields or JSON, plus the options."""
    path = {"type": "string", "description": "a local video inside an allowed root (instead of file)"}
    upload = {"type": "string", "format": "binary", "description": "the video"}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": json_schema({"file": upload, "path": path})},
        "application/x-www-form-urlencoded": {"schema": json_schema({"path": path}, required=("path",))},
        "application/json": {"schema": json_schema({"path": path}, required=("path",))}}}}


def resolve_allowed(raw: Any, roots: tuple[Path, ...]) -> Path:
    """The real path of `raw` if it lies inside one of `roots` (symlinks and `..` resolved), else 403/404.

    Containment is checked before existence, so probing paths outside the roots learns nothing.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(422, ErrorCode.BAD_REQUEST, "'path' must be a non-empty string")
    if not roots:
        raise ApiError(403, ErrorCode.PATH_FORBIDDEN,
                       "local paths are disabled on this server: start it with `posebake serve "
                       "--allowed-root DIR`, or upload the video instead")
    shown = raw if len(raw) <= 200 else raw[:200] + f"... ({len(raw)} characters)"
    if "\0" in raw:
        raise ApiError(422, ErrorCode.PATH_INVALID, f"'path' contains a NUL byte: {shown!r}")
    given = Path(raw)
    if not given.is_absolute():
        raise ApiError(422, ErrorCode.BAD_REQUEST, f"'path' must be absolute, got {shown!r}")
    try:
        real = given.resolve()
        inside = any(real.is_relative_to(root) for root in roots)
        exists = inside and real.is_file()
    except RuntimeError:  # Python 3.11 raises this for a symlink loop
        raise ApiError(422, ErrorCode.PATH_INVALID, f"'path' cannot be resolved: {shown} runs into a symbolic "
                       "link loop") from None
    except (OSError, ValueError) as exc:  # a name too long, a component that is not a directory, ...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ApiError(422, ErrorCode.PATH_INVALID, f"'path' cannot be resolved: {reason}: {shown}") from None
    if not inside:
        raise ApiError(403, ErrorCode.PATH_FORBIDDEN, f"{shown} is outside the allowed roots of this server "
                                 f"({', '.join(map(str, roots))})")
    if not exists:
        raise ApiError(404, ErrorCode.PATH_NOT_FOUND, f"no such video file: {shown}")
    return real


def create_app(cfg: ServiceConfig, manager: JobManager, token: str, health_info: dict[str, Any]) -> FastAPI:
    """The FastAPI app; `manager` must be started by the caller, it is shut down with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(manager.shutdown)

    # The schema is served below behind the token; the HTML docs are off (they load scripts from a CDN).
    app = FastAPI(title="PoseBake backend", version=__version__, lifespan=lifespan, openapi_url=None,
                  docs_url=None, redoc_url=None,
                  # no 307 to a slash-less path: a job id holding "/" (%2F) is simply not found (404)
                  redirect_slashes=False,
                  description="Local service that turns videos into PoseBake Motion files for the Blender "
                              "add-on. Every route but /health needs `Authorization: Bearer <token>`.")
    install(app)
    auth = [Depends(TokenCheck(token))]

    def find(job_id: str) -> Job:
        job = manager.get(job_id)
        if job is None:
            raise ApiError(404, ErrorCode.JOB_NOT_FOUND, f"no job {job_id!r} on this server")
        return job

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, **health_info,
                "max_upload_bytes": cfg.max_upload_bytes, "jobs": manager.counts()}

    @app.get("/openapi.json", dependencies=auth, include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.post("/jobs", status_code=201, dependencies=auth, openapi_extra=submit_doc(),
              responses=error_responses(400, 401, 403, 404, 408, 413, 415, 422, 503))
    async def submit(request: Request) -> dict[str, Any]:
        job_id = new_job_id()
        sub = await read_submission(request, cfg.uploads_dir / job_id, cfg.max_upload_bytes, cfg.upload_timeout_s)
        try:
            if sub.file is not None and "path" in sub.fields:
                raise ApiError(422, ErrorCode.BAD_REQUEST, "send either a 'file' or a 'path', not both")
            opts = parse_options(sub.fields)
            if sub.file is not None:
                video, source, kind = sub.file, sub.filename or "upload", "upload"
            elif "path" in sub.fields:
                video = resolve_allowed(sub.fields["path"], cfg.allowed_roots)
                source, kind = str(video), "path"
            else:
                raise ApiError(422, ErrorCode.NO_VIDEO,
                               "no video: send the file in the multipart field 'file', or a local "
                               "'path'")
            try:
                info = await run_in_threadpool(probe, video)
            except PoseBakeError as exc:
                what = f"the uploaded file {source!r}" if kind == "upload" else source
                detail = str(exc).replace(str(video), source)
                raise ApiError(415 if kind == "upload" else 422, ErrorCode.VIDEO_UNREADABLE,
                                    f"{what} is not a readable video: {detail}") from None
            if "focal" in opts:  # against the image: a focal no camera has would end "done" with NaN joints
                check_focal(opts["focal"], info.width, info.height)
            total = check_range(opts, info.frame_count)
            job = Job(id=job_id, kind=kind, source=source, video=str(video), options=opts, frames_total=total)
            return manager.submit(job).public()
        except OptionError as exc:
            raise ApiError(422, exc.code, str(exc)) from None
        except ShuttingDown as exc:
            raise ApiError(503, ErrorCode.SHUTTING_DOWN, str(exc)) from None
        finally:
            if sub.file is not None and manager.get(job_id) is None:
                sub.file.unlink(missing_ok=True)  # rejected: keep nothing of it

    @app.get("/jobs", dependencies=auth, responses=error_responses(401, 403))
    def list_jobs() -> list[dict[str, Any]]:
        return [j.public() for j in manager.list()]

    @app.get("/jobs/{job_id}", dependencies=auth, responses=error_responses(401, 403, 404))
    def job_status(job_id: str) -> dict[str, Any]:
        return find(job_id).public()

    @app.get("/jobs/{job_id}/result", dependencies=auth, response_class=FileResponse,
             responses={200: {"content": {"application/octet-stream": {}}, "description": "the Motion .npz"},
                        **error_responses(401, 403, 404, 409, 410)})
    def job_result(job_id: str) -> FileResponse:
        job = find(job_id)
        if job.state != "done":
            reason = f": {job.error}" if job.error else ""
            raise ApiError(409, ErrorCode.JOB_NOT_READY, f"job {job_id} is {job.state}, it has no result{reason}")
        path = manager.result_path(job_id)
        if not path.is_file():
            raise ApiError(410, ErrorCode.RESULT_GONE, f"the result of job {job_id} is gone from the state directory")
        name = Path(job.source).stem or "motion"
        return FileResponse(path, media_type="application/octet-stream", filename=f"{name}.npz")

    @app.delete("/jobs/{job_id}", dependencies=auth, responses=error_responses(401, 403, 404))
    def cancel_job(job_id: str) -> dict[str, Any]:
        job = manager.cancel(job_id)
        if job is None:
            raise ApiError(404, ErrorCode.JOB_NOT_FOUND, f"no job {job_id!r} on this server")
        return job.public()

    return app
