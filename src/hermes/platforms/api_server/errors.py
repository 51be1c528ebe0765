"""OpenAI's error envelope, so every client's typed exceptions work: `{"error": {"message", "type", "param",
"code"}}` with the status code OpenAI would use for the same problem."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

INVALID_REQUEST = "invalid_request_error"


class ApiError(Exception):
    """A request the server refuses; the handler turns it into the envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        error.update(self.extra)
        return {"error": error}

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=json.dumps(self.body()).encode(),
            headers={"Content-Type": "application/json", **self.headers},
        )


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def model_not_found(model: str) -> ApiError:
    return ApiError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )


def route_not_found(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})")


def method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(405, f"Method {method} is not allowed for {path}")


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"The request body is larger than {limit} bytes (api_server.max_body_bytes).", code="too_large"
    )


def too_many_runs(limit: int) -> ApiError:
    return ApiError(
        429,
        f"The server is already running {limit} requests (api_server.max_concurrent_runs); retry shortly.",
        type="requests",
        code="rate_limit_exceeded",
        headers={"Retry-After": "1"},
    )


# The official OpenAI SDKs honour it: a 502 of ours comes after our own retries (or after a refusal that no
# retry would change), so a client retrying it would only multiply the upstream requests.
NO_RETRY = {"x-should-retry": "false"}
# Client errors a provider answers for a passing condition (timeout, conflict, rate limit).
_TRANSIENT = frozenset({408, 409, 429})


def run_failed(message: str, provider_status: int | None) -> ApiError:
    """The agent could not answer: a gateway error (502), never a 200 carrying error text. The provider's
    own status, when there was one, travels in `provider_status`; a provider's 4xx refusal (its key, its
    model name, its limits on the request) gets the code `provider_refused`, so nobody mistakes it for a
    problem with the caller's own key or request."""
    if provider_status is not None and 400 <= provider_status < 500 and provider_status not in _TRANSIENT:
        return ApiError(
            502,
            f"The model provider refused the request ({provider_status}): {message}",
            type="api_error",
            code="provider_refused",
            headers=NO_RETRY,
            extra={"provider_status": provider_status},
        )
    return ApiError(
        502,
        message,
        type="api_error",
        code="provider_error" if provider_status is not None else "agent_error",
        headers=NO_RETRY,
        extra={"provider_status": provider_status},
    )


def shutting_down() -> ApiError:
    return ApiError(
        503, "The run was cancelled: the server is shutting down.", type="api_error", code="unavailable"
    )


def internal_error() -> ApiError:
    return ApiError(500, "The server failed to handle the request; the error was logged.", type="api_error")
