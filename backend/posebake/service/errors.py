"""HTTP errors with stable codes: every error response is ``{"detail": message, "code": code}``.

Clients (the add-on, scripts) branch on `code` (`posebake_core.jobs.ErrorCode`), never on the message,
which is free to improve. `install` makes FastAPI render every `ApiError` that way; a plain HTTPException
that slips through still gets a code, from its status.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from posebake_core.jobs import ErrorCode
from starlette.exceptions import HTTPException as StarletteHTTPException

_BY_STATUS = {400: ErrorCode.BAD_REQUEST, 401: ErrorCode.TOKEN_MISSING, 404: ErrorCode.JOB_NOT_FOUND,
              409: ErrorCode.JOB_NOT_READY, 410: ErrorCode.RESULT_GONE, 413: ErrorCode.UPLOAD_TOO_LARGE,
              415: ErrorCode.VIDEO_UNREADABLE, 422: ErrorCode.BAD_REQUEST, 503: ErrorCode.SHUTTING_DOWN}


class ApiError(HTTPException):
    """An HTTP error with a stable machine-readable `code` beside the human `detail`."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers=headers)
        self.code = code


def code_of(exc: StarletteHTTPException) -> str:
    return getattr(exc, "code", None) or _BY_STATUS.get(exc.status_code, ErrorCode.INTERNAL)


def install(app: FastAPI) -> None:
    """Render HTTP errors as {"detail", "code"}."""

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException and the router's own 404/405
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body: dict[str, Any] = {"detail": exc.detail, "code": code_of(exc)}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


#: the error body, for the OpenAPI document
ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["detail", "code"], "properties": {
    "detail": {"type": "string", "description": "what went wrong, for people"},
    "code": {"type": "string", "description": "stable machine-readable code",
             "enum": sorted(v for k, v in vars(ErrorCode).items() if k.isupper())}}}
