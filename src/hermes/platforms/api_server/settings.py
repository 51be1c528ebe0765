"""The API server's settings: the `api_server:` block of config.yaml and the `API_SERVER_*` environment."""

from __future__ import annotations

from typing import Annotated, Any

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
        Field(description="Extra model names listed by `/v1/models` that run the configured model."),
    ] = []
    model_name: Annotated[
        str,
        Env("API_SERVER_MODEL_NAME"),
        Field(
            min_length=1,
            max_length=255,
            description="The model name the API advertises (`/v1/models`, `/v1/capabilities`).",
        ),
    ] = "hermes-agent"
    # Read as the reference reads it (see `models.routes_from`): entries without a `model` are dropped.
    model_routes: Annotated[
        dict[str, Any],
        Field(description="Model names clients may send that run another model: `alias: {model: id}`."),
    ] = {}
    response_retention_days: Annotated[
        float,
        Field(gt=0, description="Stored Responses (`/v1/responses`) unused this long are deleted."),
    ] = 30.0
    max_stored_responses: Annotated[
        int,
        Field(ge=1, description="The most stored Responses kept; the least recently used go first."),
    ] = 10_000

    @property
    def configured(self) -> bool:
        return self.enabled
