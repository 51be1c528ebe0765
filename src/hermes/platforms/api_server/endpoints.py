"""What each part of the API serves, declared once: the routes mounted from it are the routes
`/v1/capabilities` reports, so the capabilities cannot claim a surface that is not there."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Endpoint:
    # The key under `endpoints` in `/v1/capabilities`; None: mounted but not advertised.
    name: str | None
    method: str
    path: str
    handler: Handler
    # What the caller's key needs (see `auth`): `chat` (and `read` for GETs), or `read`, or `admin`.
    scope: str = "chat"


class EndpointGroup(Protocol):
    def endpoints(self) -> Sequence[Endpoint]: ...

    def features(self) -> Mapping[str, Any]:
        """The `/v1/capabilities` feature flags this group makes true."""


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body).encode(), headers={**JSON_HEADERS, **(headers or {})}
    )
