"""What a client asks before it talks: `/v1/capabilities` (the typed third-party client refuses a server
whose answer lacks its required literals), `/health/detailed`, `/v1/skills` and `/v1/toolsets`.

The capabilities are computed from the endpoint groups actually mounted, so they tell the truth: a
feature is true only when its routes are served.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from hermes import __version__
from hermes.platforms.api_server.backend import ApiBackend
from hermes.platforms.api_server.endpoints import JSON_HEADERS, Endpoint, EndpointGroup, json_response
from hermes.platforms.api_server.errors import ApiError

PLATFORM = "api_server"
# The identity the third-party client checks literally.
CAPABILITIES_OBJECT = "hermes.api_server.capabilities"
IDENTITY = "hermes-agent"
# Every feature flag the reference reports; each is false unless a mounted group serves it.
FEATURES = (
    "chat_completions",
    "chat_completions_streaming",
    "responses_api",
    "responses_streaming",
    "run_submission",
    "run_status",
    "run_events_sse",
    "run_stop",
    "run_approval_response",
    "tool_progress_events",
    "approval_events",
    "session_resources",
    "session_chat",
    "session_chat_streaming",
    "session_fork",
    "admin_config_rw",
    "jobs_admin",
    "memory_write_api",
    "skills_api",
    "audio_api",
    "realtime_voice",
)


class Discovery:
    def __init__(
        self, backend: ApiBackend, model_name: str, cors: bool, groups: Sequence[EndpointGroup]
    ) -> None:
        self.backend = backend
        self.model_name = model_name
        self.cors = cors
        self.groups = [*groups, self]
        self._capabilities: bytes | None = None

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("capabilities", "GET", "/v1/capabilities", self.capabilities),
            Endpoint("health_detailed", "GET", "/health/detailed", self.health_detailed, scope="read"),
            Endpoint("skills", "GET", "/v1/skills", self.skills),
            Endpoint("toolsets", "GET", "/v1/toolsets", self.toolsets),
        ]

    def features(self) -> dict[str, Any]:
        return {"skills_api": True}

    def document(self) -> dict[str, Any]:
        features: dict[str, Any] = dict.fromkeys(FEATURES, False)
        endpoints = {
            "health": {"method": "GET", "path": "/health"},
            "models": {"method": "GET", "path": "/v1/models"},
        }
        for group in self.groups:
            features.update(group.features())
            for endpoint in group.endpoints():
                if endpoint.name is not None:
                    endpoints[endpoint.name] = {"method": endpoint.method, "path": endpoint.path}
        features["session_key_header"] = "X-Hermes-Session-Key"
        features["cors"] = self.cors
        return {
            "object": CAPABILITIES_OBJECT,
            "platform": IDENTITY,
            "version": __version__,
            "model": self.model_name,
            "auth": {"type": "bearer", "required": True},
            "runtime": {
                "mode": "server_agent",
                "tool_execution": "server",
                "split_runtime": False,
                "description": "The agent and its tools run on the API server's host.",
            },
            "features": features,
            "endpoints": endpoints,
        }

    async def capabilities(self, request: web.Request) -> web.Response:
        if self._capabilities is None:
            self._capabilities = json.dumps(self.document()).encode()
        return web.Response(body=self._capabilities, headers=JSON_HEADERS)

    async def health_detailed(self, request: web.Request) -> web.Response:
        body = {"platform": IDENTITY, "version": __version__, **await self.backend.readiness()}
        return json_response(body)

    async def skills(self, request: web.Request) -> web.Response:
        try:
            skills = await asyncio.to_thread(self.backend.skills)
        except OSError as exc:
            raise ApiError(500, f"The skills could not be read: {exc.strerror}", type="server_error") from exc
        return json_response({"object": "list", "data": skills})

    async def toolsets(self, request: web.Request) -> web.Response:
        toolsets = self.backend.toolsets(PLATFORM)
        return json_response({"object": "list", "platform": PLATFORM, "data": toolsets})
