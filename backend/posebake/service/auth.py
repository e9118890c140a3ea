"""The bearer token that makes the service usable by its owner only.

The service reads videos and writes files, so anyone who can reach the port must not be able to drive
it. Loopback binding keeps other machines out; the token keeps other local users (and web pages, which
cannot read the owner's 0600 config file) out. It is generated once with `secrets` and reused, so the
add-on keeps working across restarts.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from posebake_core.errors import PoseBakeError
from posebake_core.jobs import ErrorCode

from .errors import ApiError

log = logging.getLogger("posebake.service")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise PoseBakeError(f"cannot read the service config {path}: {exc}; fix or delete it") from None
    if not isinstance(data, dict):
        raise PoseBakeError(f"the service config {path} is not a JSON object; fix or delete it")
    return data


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON with mode 0600 from the first byte (never briefly world-readable), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates with 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_create_token(path: Path, url: str | None = None) -> str:
    """The token stored in `path`, creating it (and the file, mode 0600) on first start.

    `url` is recorded beside it so the add-on can find the service without being told the port.
    """
    data = _read(path)
    token = data.get("token")
    changed = False
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        data["token"] = token
        changed = True
        log.info("generated a new service token in %s", path)
    if url is not None and data.get("url") != url:
        data["url"] = url
        changed = True
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0
    if changed or mode & 0o077:
        if mode & 0o077:
            log.warning("%s was readable by other users (mode %o); tightening it to 0600", path, mode)
        _write_private(path, data)
    return token


#: The bearer scheme as FastAPI's security utility declares it: every route that depends on `TokenCheck`
#: lists it in the OpenAPI document (`security`), and the document gains `components.securitySchemes`.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="the token in the service config file (`posebake serve --help` says where)")


class TokenCheck:
    """FastAPI dependency: 401 without a bearer token, 403 with a wrong one."""

    def __init__(self, token: str) -> None:
        self._token = token.encode("utf-8")

    def __call__(self, credentials: HTTPAuthorizationCredentials | None = Security(BEARER)) -> None:
        given = credentials.credentials.strip() if credentials is not None else ""
        if not given:
            raise ApiError(401, ErrorCode.TOKEN_MISSING,
                           "missing token: send 'Authorization: Bearer <token>' (the token is in the "
                           "service config file, see `posebake serve --help`)",
                           headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            raise ApiError(403, ErrorCode.TOKEN_REJECTED, "token rejected: it does not match this server's token")
