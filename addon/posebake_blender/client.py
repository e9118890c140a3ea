"""Talk to the PoseBake backend (`posebake serve`) from Blender, with the standard library only.

Blender's bundled Python has no torch and neither httpx nor requests, so this module uses urllib alone and
imports nothing from bpy or the backend; the job options, error codes and their checks come from the core's
`posebake_core.jobs` (standard library only), the very code the service validates with. It runs the same
inside Blender, in a plain interpreter, and in tests. Every call is short (uploads stream, polling is one GET), so the
add-on can drive it from a timer without freezing the UI; nothing here blocks for a whole job except
`wait`, which is meant for scripts.

Every failure is a `BackendError` subclass whose message says what to do about it.
"""
from __future__ import annotations

import json
import mimetypes
import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Iterator

from posebake_core.jobs import OPTION_NAMES, ErrorCode, OptionError, validate_options
from posebake_core.paths import service_config_path

DEFAULT_URL = "http://127.0.0.1:8765"
CHUNK = 1024 * 1024
__all__ = ["OPTION_NAMES", "BackendClient", "BackendError", "InvalidOptions"]


class BackendError(Exception):
    """Anything that went wrong talking to the backend; the message is meant for the user."""


class BackendUnavailable(BackendError):
    """Nothing answers at the URL (not started, crashed, wrong port)."""


class TokenMissing(BackendError):
    """No token to send: the config file is absent, or the server saw no token."""


class TokenRejected(BackendError):
    """The server has a different token (it was regenerated, or this is another user's server)."""


class JobNotFound(BackendError):
    """The server does not know this job id (deleted, or a different state directory)."""


class JobNotReady(BackendError):
    """The job is still queued or running; poll `status` and try again."""


class JobFailed(BackendError):
    """The job ran and failed; the message is the server's explanation."""

    def __init__(self, message: str, job: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.job = job or {}


class JobCancelled(BackendError):
    """The job was cancelled; it has no result."""


class RequestRejected(BackendError):
    """The server refused the request (bad video, bad option, path not allowed); `status` is the HTTP code."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class UploadTooLarge(RequestRejected):
    """The video is larger than the server accepts (`posebake serve --max-upload`)."""


class InvalidOptions(BackendError, ValueError):
    """Options the backend would refuse, caught before anything is sent; `code` and `field` say which."""

    def __init__(self, message: str, code: str, field: str | None) -> None:
        super().__init__(message)
        self.code, self.field = code, field


class ServerError(BackendError):
    """The backend hit an internal error (HTTP 5xx); its log has the details."""


def config_path() -> str:
    """The backend's config file, by the rule the server writes it by (`posebake_core.paths`)."""
    return str(service_config_path())


def read_config(path: str | None = None) -> dict[str, Any]:
    """The config the backend wrote at its first start (token and last URL); {} if there is none yet."""
    p = path or config_path()
    try:
        with open(p, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read the backend config {p}: {exc}") from None
    return data if isinstance(data, dict) else {}


def read_token(path: str | None = None) -> str:
    """The backend's token from its config file; `TokenMissing` if the backend never ran as this user."""
    p = path or config_path()
    token = read_config(p).get("token")
    if not isinstance(token, str) or not token:
        raise TokenMissing(f"no backend token in {p}: start the backend once with `posebake serve` (it creates "
                           "the token), as the same user that runs Blender")
    return token


def _detail(err: urllib.error.HTTPError) -> tuple[str, str]:
    """(message, code) of an error response ({"detail", "code"}); the code is "" when the body has none."""
    try:
        body = json.loads(err.read())
        detail, code = body.get("detail", ""), body.get("code", "")
    except Exception:  # the body is only used for the message
        detail, code = err.reason, ""
    return (detail if isinstance(detail, str) else json.dumps(detail)), (code if isinstance(code, str) else "")


class BackendClient:
    """One backend: `url` like http://127.0.0.1:8765, `token` from `read_token()` when not given."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = (url or read_config().get("url") or DEFAULT_URL).rstrip("/")
        self._token = token
        self.timeout = timeout

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = read_token()
        return self._token

    # -- plumbing ---------------------------------------------------------------------------------------
    def _open(self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None,
              auth: bool = True):
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as err:
            raise self._http_error(err) from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, ConnectionRefusedError):
                raise BackendUnavailable(f"cannot connect to the PoseBake backend at {self.url} (connection "
                                         "refused): is the backend running? start it with `posebake serve`") from None
            raise BackendUnavailable(f"cannot reach the PoseBake backend at {self.url}: {reason}; is the backend "
                                     "running? start it with `posebake serve`") from None
        except (socket.timeout, TimeoutError):
            raise BackendUnavailable(f"the PoseBake backend at {self.url} did not answer within {self.timeout:g} s")
        except (ConnectionError, OSError) as exc:  # reset mid-request, e.g. the backend was stopped
            raise BackendUnavailable(f"the connection to the PoseBake backend at {self.url} failed: {exc}; is the "
                                     "backend running? start it with `posebake serve`") from None

    def _http_error(self, err: urllib.error.HTTPError) -> BackendError:
        (detail, code), status = _detail(err), err.code
        if code == ErrorCode.TOKEN_MISSING:
            return TokenMissing(f"the backend wants a token: {detail}")
        if code == ErrorCode.TOKEN_REJECTED:
            return TokenRejected(f"token rejected by the backend at {self.url}: the token in {config_path()} "
                                 "does not match the running server's (restart Blender's connection, or the "
                                 "server was started with another config)")
        if code == ErrorCode.JOB_NOT_FOUND:
            return JobNotFound(detail)
        if code == ErrorCode.JOB_NOT_READY:
            return JobNotReady(detail)
        if code == ErrorCode.UPLOAD_TOO_LARGE:
            return UploadTooLarge(detail, status)
        if status >= 500:
            return ServerError(f"the backend failed (HTTP {status}): {detail}")
        return RequestRejected(f"the backend refused the request (HTTP {status}): {detail}", status)

    def _json(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        data, headers = None, {}
        if body is not None:
            data, headers = json.dumps(body).encode("utf-8"), {"Content-Type": "application/json"}
        with self._open(method, path, data, headers, auth=auth) as resp:
            return json.loads(resp.read() or b"null")

    @staticmethod
    def _job_path(job_id: str) -> str:
        return "/jobs/" + urllib.parse.quote(job_id, safe="")

    @staticmethod
    def _options(options: dict[str, Any]) -> dict[str, Any]:
        """The options checked by the service's own rules (`posebake_core.jobs`) before anything is sent."""
        try:
            return validate_options({k: v for k, v in options.items() if v is not None})
        except OptionError as exc:
            raise InvalidOptions(str(exc), exc.code, exc.field) from None

    # -- API --------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Version, device and limits of the backend (needs no token: usable to test the connection)."""
        return self._json("GET", "/health", auth=False)

    def submit_video(self, path: str, **options: Any) -> dict[str, Any]:
        """Upload a video file (streamed, never read whole into memory); returns the new job."""
        opts = self._options(options)
        size = os.path.getsize(path)  # FileNotFoundError: the caller's mistake, reported as such
        limit = self.health().get("max_upload_bytes")
        if isinstance(limit, int) and size > limit:
            raise UploadTooLarge(f"{path} is {size} bytes, larger than the backend accepts ({limit} bytes); "
                                 "start it with a larger `posebake serve --max-upload`", 413)
        boundary = f"posebake-{uuid.uuid4().hex}"
        name = os.path.basename(path).replace('"', "_").replace("\r", "_").replace("\n", "_")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in opts.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: {ctype}\r\n\r\n").encode("utf-8")
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Iterator[bytes]:
            yield head
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
            yield tail

        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
                   "Content-Length": str(len(head) + size + len(tail))}
        with self._open("POST", "/jobs", body(), headers) as resp:
            return json.loads(resp.read())

    def submit_path(self, path: str, **options: Any) -> dict[str, Any]:
        """Submit a video the backend reads in place (it must lie under one of its `--allowed-root`s)."""
        return self._json("POST", "/jobs", {"path": os.path.abspath(path), **self._options(options)})

    def jobs(self) -> list[dict[str, Any]]:
        return self._json("GET", "/jobs")

    def status(self, job_id: str) -> dict[str, Any]:
        """State (queued/running/done/failed/cancelled), stage, frames_done/frames_total, fps, eta_s, error."""
        return self._json("GET", self._job_path(job_id))

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (a finished one is deleted with its result)."""
        return self._json("DELETE", self._job_path(job_id))

    def result(self, job_id: str, dest_path: str) -> str:
        """Download the Motion .npz to `dest_path`, atomically (a partial download never lands there)."""
        try:
            resp = self._open("GET", self._job_path(job_id) + "/result")
        except JobNotReady:
            job = self.status(job_id)
            if job.get("state") == "failed":
                raise JobFailed(f"job {job_id} failed: {job.get('error')}", job) from None
            if job.get("state") == "cancelled":
                raise JobCancelled(f"job {job_id} was cancelled; it has no result") from None
            raise
        dest = os.path.abspath(dest_path)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", dir=os.path.dirname(dest))
        try:
            with resp, os.fdopen(fd, "wb") as fh:
                while chunk := resp.read(CHUNK):
                    fh.write(chunk)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return dest

    def wait(self, job_id: str, poll: float = 0.5, timeout: float | None = None,
             on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Poll until the job is done (for scripts; the add-on polls `status` from a timer instead)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.status(job_id)
            if on_progress is not None:
                on_progress(job)
            state = job.get("state")
            if state == "done":
                return job
            if state == "failed":
                raise JobFailed(f"job {job_id} failed: {job.get('error')}", job)
            if state == "cancelled":
                raise JobCancelled(f"job {job_id} was cancelled; it has no result")
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"job {job_id} is still {state} after {timeout:g} s")
            time.sleep(poll)
