"""Requests to the homeserver through mautrix's HTTPAPI, keeping what its errors leave out.

mautrix turns an error response into an exception without the body, so `M_LIMIT_EXCEEDED`'s
`retry_after_ms` would be lost; `MatrixHTTP` attaches it. The same object can back a mautrix `Client`
(the encryption machinery needs one), so there is one connection pool and one access token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast
from urllib.parse import quote

import aiohttp
from mautrix.api import HTTPAPI, Method
from mautrix.errors import MatrixConnectionError, MatrixRequestError, make_request_error
from mautrix.util.logging import TraceLogger
from yarl import URL

__all__ = [
    "MatrixHTTP",
    "Method",
    "client_path",
    "is_auth_error",
    "is_rate_limited",
    "is_transient",
    "open_http",
    "retry_after",
]

# Importing mautrix made its TraceLogger the class of every logger created afterwards.
log = cast(TraceLogger, logging.getLogger("hermes.platforms.matrix.http"))

# Sync long-polls for 30 s; a read that stalls three times as long means the connection is dead.
_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=90)
_AUTH_ERRCODES = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"}


class MatrixHTTP(HTTPAPI):
    async def _send(
        self,
        method: Method,
        url: URL,
        content: Any,
        query_params: dict[str, str],
        headers: dict[str, str],
    ) -> tuple[Any, aiohttp.ClientResponse]:
        request = self.session.request(str(method), url, data=content, params=query_params, headers=headers)
        async with request as response:
            if 200 <= response.status < 300:
                return await response.json(content_type=None), response
            text = await response.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            error = make_request_error(
                http_status=response.status,
                text=text,
                errcode=body.get("errcode"),
                message=body.get("error"),
                unstable_errcode=body.get("org.matrix.msc3848.unstable.errcode"),
            )
            error.retry_after = _retry_after_seconds(body, response.headers)  # type: ignore[attr-defined]
            raise error

    async def close(self) -> None:
        await self.session.close()


def open_http(homeserver: str, token: str = "") -> MatrixHTTP:
    session = aiohttp.ClientSession(timeout=_TIMEOUT)
    return MatrixHTTP(homeserver.rstrip("/"), token, client_session=session, log=log)


def client_path(template: str, *parts: str, version: str = "v3") -> str:
    """`client_path("rooms/{}/join", room_id)`: a client-server API path with each part escaped."""
    return f"_matrix/client/{version}/" + template.format(*(quote(part, safe="") for part in parts))


def _retry_after_seconds(body: dict[str, Any], headers: Any) -> float | None:
    millis = body.get("retry_after_ms")
    if isinstance(millis, int | float) and not isinstance(millis, bool) and millis >= 0:
        return millis / 1000
    header = headers.get("Retry-After")
    try:
        return max(0.0, float(header)) if header is not None else None
    except ValueError:
        return None


def retry_after(error: BaseException) -> float | None:
    return getattr(error, "retry_after", None)


def is_auth_error(error: BaseException) -> bool:
    """The homeserver no longer accepts the access token: retrying cannot help."""
    return isinstance(error, MatrixRequestError) and (
        error.http_status == 401 or getattr(error, "errcode", None) in _AUTH_ERRCODES
    )


def is_rate_limited(error: BaseException) -> bool:
    return isinstance(error, MatrixRequestError) and (
        error.http_status == 429 or getattr(error, "errcode", None) == "M_LIMIT_EXCEEDED"
    )


def is_transient(error: BaseException) -> bool:
    """Worth retrying later: the network, the homeserver being down or busy."""
    if isinstance(error, MatrixConnectionError | aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return True
    return isinstance(error, MatrixRequestError) and (error.http_status >= 500 or is_rate_limited(error))
