"""The API server's settings: the `api_server:` block of config.yaml and the `API_SERVER_*` environment."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hermes.config.settings import Env, Secret
from hermes.platforms.base import PlatformSettings


class ApiServerSettings(PlatformSettings):
    enabled: Annotated[
        bool, Env("API_SERVER_ENABLED"), Field(description="Serve the OpenAI-compatible API.")
    ] = False
    key: Annotated[
        str | None,
        Env("API_SERVER_KEY"),
        Secret,
        Field(
            description="The Bearer key clients must send (16+ characters; generated into `.env` when unset)."
        ),
    ] = None
    host: Annotated[
        str,
        Env("API_SERVER_HOST"),
        Field(description="Address to listen on; anything but loopback exposes the agent to the network."),
    ] = "127.0.0.1"
    port: Annotated[
        int,
        Env("API_SERVER_PORT"),
        Field(ge=0, le=65535, description="Port to listen on (0: any free port)."),
    ] = 8642
    cors_origins: Annotated[
        list[str],
        Env("API_SERVER_CORS_ORIGINS"),
        Field(description="Browser origins allowed to call the API (CORS)."),
    ] = []
    metrics_public: Annotated[bool, Field(description="Serve `/metrics` without the key.")] = False
    max_body_bytes: Annotated[int, Field(ge=1024, description="Largest request body accepted.")] = 1024 * 1024
    max_concurrent_runs: Annotated[
        int, Field(ge=1, description="Requests run at once; more are refused with 429.")
    ] = 32
    model_aliases: Annotated[
        list[str],
        Field(description="Extra model names that run the configured model (besides `hermes-agent`)."),
    ] = []

    @property
    def configured(self) -> bool:
        return self.enabled
