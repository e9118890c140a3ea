"""Read a job submission from the request body, streaming any video straight to the state directory.

FastAPI's `UploadFile` spools the whole body before the route runs, so a size limit checked there comes
after the disk (or memory) is already full. We feed the body chunk by chunk to python-multipart's
low-level parser instead, write the `file` part to its final place as it arrives, and abort the moment it
passes the limit. Small form fields are kept in memory, with their own small limit.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, BinaryIO
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from posebake_core.jobs import ErrorCode
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from .errors import ApiError

log = logging.getLogger("posebake.service")

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32
MULTIPART_OVERHEAD = 1024 * 1024  # headers, boundaries and small fields on top of the video itself


@dataclass
class Submission:
    """The fields of a POST /jobs request; `file` is the stored upload, if one was sent."""

    fields: dict[str, Any] = field(default_factory=dict)
    file: Path | None = None
    filename: str | None = None


def safe_suffix(filename: str | None) -> str:
    """The upload's extension if it is a plain one (FFmpeg may use it as a hint), else nothing."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


class _MultipartReader:
    """Callbacks for `MultipartParser`: one file part to disk, other parts to memory, limits enforced."""

    def __init__(self, dest: Path, max_bytes: int) -> None:
        self.dest, self.max_bytes = dest, max_bytes
        self.sub = Submission()
        self._headers: dict[str, bytes] = {}
        self._hname, self._hvalue = b"", b""
        self._name: str | None = None
        self._buf: bytearray | None = None
        self._fh: BinaryIO | None = None
        self._size = 0
        self.error: ApiError | None = None
        self.complete = False  # the closing boundary arrived: the body was not cut short

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end, "on_end": self._end}

    def _fail(self, status: int, message: str, code: str = ErrorCode.BAD_REQUEST) -> None:
        if self.error is None:
            self.error = ApiError(status, code, message)

    def _part_begin(self) -> None:
        self._headers, self._name, self._buf = {}, None, None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _header_end(self) -> None:
        # Kept as bytes: browsers and our client send file names as raw UTF-8 (RFC 7578 4.2), which a
        # str round trip through Latin-1 would garble or fail on (the 500 on a Cyrillic or CJK name).
        self._headers[self._hname.decode("latin-1").lower()] = bytes(self._hvalue)
        self._hname, self._hvalue = b"", b""

    def _end(self) -> None:
        self.complete = True

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        self._name = decode_name(params.get(b"name", b""))
        filename = params.get(b"filename")
        if self._name == "file":
            if self.sub.file is not None:
                self._fail(422, "send one video per job: the form has more than one 'file' field")
                return
            self.sub.filename = clean_filename(decode_name(filename)) if filename else "upload"
            self.dest = self.dest.with_suffix(safe_suffix(self.sub.filename))
            # O_EXCL + 0600: never follow or reuse an existing file, never readable by other users
            fd = os.open(self.dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._fh = os.fdopen(fd, "wb")
            self.sub.file = self.dest
        else:
            if len(self.sub.fields) >= MAX_FIELDS:
                self._fail(422, "too many form fields")
            self._buf = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        n = end - start
        if self._fh is not None:
            self._size += n
            if self._size > self.max_bytes:
                self._fail(413, f"upload too large: the limit is {self.max_bytes} bytes (set it with "
                                "`posebake serve --max-upload`)", ErrorCode.UPLOAD_TOO_LARGE)
                return
            self._fh.write(data[start:end])
        elif self._buf is not None:
            if len(self._buf) + n > MAX_FIELD_BYTES:
                self._fail(413, f"form field {self._name!r} is larger than {MAX_FIELD_BYTES} bytes",
                           ErrorCode.UPLOAD_TOO_LARGE)
                return
            self._buf += data[start:end]

    def _part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        elif self._buf is not None and self._name:
            self.sub.fields[self._name] = self._buf.decode("utf-8", "replace")
        self._buf = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def decode_name(raw: bytes) -> str:
    """A header parameter's text: UTF-8 as clients send it, else Latin-1 (old clients), never an error."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def clean_filename(name: str, limit: int = 255) -> str:
    """The upload's base name as the user knows it (any script kept), without path parts or control
    characters, cut to `limit` characters keeping the extension."""
    base = os.path.basename(name.replace("\\", "/"))
    base = "".join(ch for ch in base if ch.isprintable()).strip() or "upload"
    if len(base) > limit:
        suffix = Path(base).suffix[:16]
        base = base[: limit - len(suffix)] + suffix
    return base


async def _chunks(request: Request, idle_timeout: float) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk; 408 when no data comes for `idle_timeout` seconds (a stalled
    client must not hold a connection and a half-written upload forever), 400 when the client goes away."""
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_timeout)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise ApiError(408, ErrorCode.UPLOAD_TIMEOUT, f"the upload stalled: no data for {idle_timeout:g} s "
                           "(set the limit with `posebake serve --upload-timeout`)") from None
        except ClientDisconnect:
            raise ApiError(400, ErrorCode.UPLOAD_INCOMPLETE, "the client disconnected during the upload") from None
        yield chunk


async def _small_body(request: Request, idle_timeout: float) -> bytes:
    body = bytearray()
    async for chunk in _chunks(request, idle_timeout):
        body += chunk
        if len(body) > MAX_FIELD_BYTES:
            raise ApiError(413, ErrorCode.UPLOAD_TOO_LARGE,
                           f"request body larger than {MAX_FIELD_BYTES} bytes; upload videos as "
                           "multipart/form-data in the field 'file'")
    return bytes(body)


async def read_submission(request: Request, dest: Path, max_bytes: int, idle_timeout: float = 60.0) -> Submission:
    """Parse a POST /jobs body: multipart (with optional `file`), urlencoded form or JSON.

    On any error the partly written upload is removed before the error propagates.
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise ApiError(413, ErrorCode.UPLOAD_TOO_LARGE,
                       f"upload too large: {int(length)} bytes, the limit is {max_bytes} bytes (set "
                       "it with `posebake serve --max-upload`)")
    if ctype == b"application/json":
        try:
            data = json.loads(await _small_body(request, idle_timeout) or b"{}")
        except ValueError as exc:
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"the JSON body does not parse: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(422, ErrorCode.BAD_REQUEST,
                           "the JSON body must be an object like {\"path\": \"/videos/clip.mp4\"}")
        return Submission(fields=data)
    if ctype == b"application/x-www-form-urlencoded":
        form = parse_qs((await _small_body(request, idle_timeout)).decode("utf-8", "replace"), keep_blank_values=True)
        return Submission(fields={k: v[-1] for k, v in form.items()})
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise ApiError(415, ErrorCode.BAD_REQUEST,
                       "send the video as multipart/form-data in the field 'file', or a local "
                       "'path' as JSON or form data")
    reader = _MultipartReader(dest, max_bytes)
    parser = MultipartParser(params[b"boundary"], reader.callbacks())
    received = 0
    try:
        async for chunk in _chunks(request, idle_timeout):
            received += len(chunk)
            parser.write(chunk)
            if reader.error is not None:
                raise reader.error
        parser.finalize()
        if reader.error is not None:
            raise reader.error
        if not reader.complete:  # a body cut short would store a truncated video that "works" on 8 frames
            raise ApiError(400, ErrorCode.UPLOAD_INCOMPLETE, f"the upload is incomplete: the body ended after "
                           f"{received} bytes without the closing multipart boundary; send it again")
    except BaseException as exc:
        reader.close()
        if reader.sub.file is not None:
            reader.sub.file.unlink(missing_ok=True)
        if isinstance(exc, ApiError) and exc.code in (ErrorCode.UPLOAD_INCOMPLETE, ErrorCode.UPLOAD_TIMEOUT):
            log.info("upload abandoned: %s", exc.detail)  # the client's doing: no traceback in the log
        if isinstance(exc, HTTPException):
            raise
        if isinstance(exc, Exception) and type(exc).__module__.startswith("python_multipart"):
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"malformed multipart body: {exc}") from None
        raise
    reader.close()
    return reader.sub
