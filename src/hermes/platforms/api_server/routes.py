"""The aiohttp application: routes, and one middleware for what every request goes through (CORS
preflight, the key, the error envelope, metrics) — one layer instead of four keeps the hot path short.

Routes: `GET /health` and `GET /v1/health` (no key), `GET /v1/models`, `GET /v1/models/{model}`,
`POST /v1/chat/completions`, `GET /metrics` (no key when `api_server.metrics_public`). Anything else is a
404 in OpenAI's envelope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from aiohttp import web

from hermes import __version__
from hermes.platforms.api_server.auth import BearerAuth, caller_of, forbidden, remember_caller
from hermes.platforms.api_server.endpoints import Endpoint, EndpointGroup, Handler
from hermes.platforms.api_server.errors import (
    ApiError,
    internal_error,
    method_not_allowed,
    model_not_found,
    route_not_found,
    too_large,
)
from hermes.platforms.api_server.metrics import CONTENT_TYPE, ApiMetrics
from hermes.platforms.api_server.models import ModelCatalog
from hermes.platforms.api_server.session_headers import SESSION_HEADER, SESSION_KEY_HEADER
from hermes.store.api_keys import ApiKeys

log = logging.getLogger(__name__)

_JSON = {"Content-Type": "application/json"}
_HEALTH_PATHS = ("/health", "/v1/health")
# Status recorded for a request whose client went away before the answer (nginx's convention).
_CLIENT_GONE = 499
_UNMATCHED = "unmatched"
# Everything a browser client of these routes sends and reads (the reference forgets some, §17.22).
_ALLOWED_HEADERS = (
    f"Authorization, Content-Type, {SESSION_HEADER}, {SESSION_KEY_HEADER}, Idempotency-Key, Last-Event-ID"
)
_EXPOSED_HEADERS = f"{SESSION_HEADER}, {SESSION_KEY_HEADER}"


@dataclass(frozen=True)
class AppOptions:
    key: str
    models: ModelCatalog
    max_body_bytes: int
    metrics_public: bool
    cors_origins: Collection[str]


def build_app(
    options: AppOptions, groups: Sequence[EndpointGroup], metrics: ApiMetrics, client_keys: ApiKeys | None
) -> web.Application:
    public = {*_HEALTH_PATHS, *(("/metrics",) if options.metrics_public else ())}
    cors = Cors(options.cors_origins) if options.cors_origins else None
    auth = BearerAuth(options.key, client_keys)
    health = json.dumps({"status": "ok", "platform": "hermes-gateway", "version": __version__}).encode()
    created = int(time.time())
    cards = options.models.cards(created)
    model_list = json.dumps({"object": "list", "data": list(cards.values())}).encode()
    max_body = options.max_body_bytes

    async def handle_health(request: web.Request) -> web.Response:
        return web.Response(body=health, headers=_JSON)

    async def handle_models(request: web.Request) -> web.Response:
        return web.Response(body=model_list, headers=_JSON)

    async def handle_model(request: web.Request) -> web.Response:
        name = request.match_info["model"]
        card = cards.get(name)
        if card is None:
            raise model_not_found(name)
        return web.Response(body=json.dumps(card).encode(), headers=_JSON)

    async def handle_metrics(request: web.Request) -> web.Response:
        caller = caller_of(request)
        if request.path not in public and not caller.may("read", "GET"):
            raise forbidden(caller, "read")
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            if cors is not None and request.method == "OPTIONS" and cors.is_preflight(request):
                response: web.StreamResponse = cors.preflight(request)
            else:
                if request.path not in public:
                    remember_caller(request, await auth.check(request.headers.get("Authorization")))
                length = request.content_length
                if length is not None and length > max_body:
                    raise too_large(max_body)
                response = await handler(request)
            status = response.status
            return response
        except ApiError as error:
            status = error.status
            return error.response()
        except web.HTTPException as error:
            failure = _envelope_for(error, request, max_body)
            status = failure.status
            return failure.response()
        except asyncio.CancelledError:
            status = _CLIENT_GONE
            raise
        except Exception:
            log.exception("api_server: %s %s failed", request.method, request.path)
            return internal_error().response()
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else _UNMATCHED
            metrics.observe(route, status, time.perf_counter() - started)

    app = web.Application(client_max_size=max_body, middlewares=[gate])
    for path in _HEALTH_PATHS:
        app.router.add_get(path, handle_health, allow_head=False)
    app.router.add_get("/v1/models", handle_models, allow_head=False)
    app.router.add_get("/v1/models/{model}", handle_model, allow_head=False)
    for group in groups:
        for endpoint in group.endpoints():
            app.router.add_route(endpoint.method, endpoint.path, _scoped(endpoint))
    app.router.add_get("/metrics", handle_metrics, allow_head=False)
    if cors is not None:
        app.on_response_prepare.append(cors.add_headers)
    return app


def _scoped(endpoint: Endpoint) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        caller = caller_of(request)
        if not caller.may(endpoint.scope, request.method):
            raise forbidden(caller, endpoint.scope)
        return await endpoint.handler(request)

    return handle


def _envelope_for(error: web.HTTPException, request: web.Request, max_body: int) -> ApiError:
    path = request.path if len(request.path) <= 200 else request.path[:200] + "…"
    if error.status == 404:
        return route_not_found(request.method, path)
    if error.status == 405:
        return method_not_allowed(request.method, path)
    if error.status == 413:
        return too_large(max_body)
    return ApiError(error.status, error.reason)


class Cors:
    """Cross-origin access for the configured origins only (`*` allows any); other origins get no CORS
    headers, so browsers keep their pages out."""

    def __init__(self, origins: Collection[str]) -> None:
        self._any = "*" in origins
        self._origins = frozenset(origin.rstrip("/") for origin in origins)

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (self._any or origin in self._origins)

    def is_preflight(self, request: web.Request) -> bool:
        return "Access-Control-Request-Method" in request.headers

    def preflight(self, request: web.Request) -> web.Response:
        if not self.allowed(request.headers.get("Origin")):
            raise ApiError(403, "This origin is not allowed (API_SERVER_CORS_ORIGINS).", code="cors_refused")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            },
        )

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if self.allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
            response.headers["Vary"] = "Origin"
