"""The echo platform's settings: the `echo:` block of config.yaml and the `ECHO_*` environment."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hermes.config.settings import Env, Secret
from hermes.platforms.base import PlatformSettings


class EchoSettings(PlatformSettings):
    token: Annotated[
        str | None,
        Env("ECHO_TOKEN"),
        Secret,
        Field(description="The Bearer token people post with."),
    ] = None
    host: Annotated[str, Env("ECHO_HOST"), Field(description="Address to listen on.")] = "127.0.0.1"
    port: Annotated[int, Env("ECHO_PORT"), Field(ge=0, le=65535, description="Port to listen on.")] = 8765
    allowed_users: Annotated[
        list[str], Env("ECHO_ALLOWED_USERS"), Field(description="Users who may talk to the bot.")
    ] = []

    @property
    def configured(self) -> bool:
        return bool(self.token)
