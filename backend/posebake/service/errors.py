"""HTTP errors with stable codes: every error response is ``{"detail": message, "code": code}``.

Clients (the add-on, scripts) branch on `code` (`posebake_core.jobs.ErrorCode`), never on the message,
which is free to improve. `install` makes FastAPI render every `ApiError` that way; a plain HTTPException
that slips through still gets a code, from its status, and so does FastAPI's own request validation. An
exception that is none of these is a bug: it is logged with its traceback and answered as a 500 in the same
shape, so the client always gets a body (never a dropped connection).
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from posebake_core.jobs import ErrorCode
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("posebake.service")

_BY_STATUS = {400: ErrorCode.BAD_REQUEST, 401: ErrorCode.TOKEN_MISSING, 403: ErrorCode.TOKEN_REJECTED,
              404: ErrorCode.JOB_NOT_FOUND, 408: ErrorCode.UPLOAD_TIMEOUT, 409: ErrorCode.JOB_NOT_READY,
              410: ErrorCode.RESULT_GONE, 413: ErrorCode.UPLOAD_TOO_LARGE, 415: ErrorCode.VIDEO_UNREADABLE,
              422: ErrorCode.BAD_REQUEST, 503: ErrorCode.SHUTTING_DOWN}

#: What each error status means on this service (the OpenAPI `responses` of the routes that return it).
STATUS_MEANING = {
    "400": "malformed request body, or the upload was cut short",
    "401": "no bearer token",
    "403": "token rejected, or the path lies outside the allowed roots",
    "404": "no such job, or no such video file",
    "408": "the upload stalled (no data within the server's upload time-out)",
    "409": "the job has no result yet",
    "410": "the job's result is gone from the state directory",
    "413": "upload or form field too large",
    "415": "not a readable video, or an unsupported content type",
    "422": "bad options, bad path or no video",
    "503": "the server is shutting down",
}


class ApiError(HTTPException):
    """An HTTP error with a stable machine-readable `code` beside the human `detail`."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers=headers)
        self.code = code


def code_of(exc: StarletteHTTPException) -> str:
    return getattr(exc, "code", None) or _BY_STATUS.get(exc.status_code, ErrorCode.INTERNAL)


def install(app: FastAPI) -> None:
    """Render every error as {"detail", "code"}."""

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException and the router's own 404/405
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body: dict[str, Any] = {"detail": exc.detail, "code": code_of(exc)}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors()[:5])
        return JSONResponse({"detail": f"bad request: {where}", "code": ErrorCode.BAD_REQUEST}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log",
                             "code": ErrorCode.INTERNAL}, status_code=500)


#: the error body, for the OpenAPI document
ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["detail", "code"], "properties": {
    "detail": {"type": "string", "description": "what went wrong, for people"},
    "code": {"type": "string", "description": "stable machine-readable code",
             "enum": sorted(v for k, v in vars(ErrorCode).items() if k.isupper())}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route returns, all with the one error body."""
    return {str(s): {"description": STATUS_MEANING[str(s)],
                     "content": {"application/json": {"schema": ERROR_SCHEMA}}} for s in statuses}
