"""The Discord settings: the DISCORD_* keys the fleet manager writes and the reference system reads, with
the same meanings and defaults, checked once at start.

Each field names its environment key; values come from the merged `.env` layers and the process
environment (the loader's precedence). A bad value stops the platform with one line naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from hermes.config.errors import ConfigError
from hermes.platforms.base import AccessList

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

DEFAULT_API_URL = "https://discord.com/api/v10"
# Reconnect backoff of the Gateway; module constants so tests can shorten them.
RECONNECT_MIN_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 60.0


def _ids(raw: object) -> object:
    """`a, b,<@c>` -> ["a", "b", "c"]: the reference accepts mention tokens and `user:` prefixes too."""
    if not isinstance(raw, str):
        return raw
    items = []
    for item in raw.split(","):
        item = item.strip().removeprefix("user:").removeprefix("<@").removeprefix("!").removesuffix(">")
        item = item.removeprefix("#")
        if item:
            items.append(item)
    return items


Ids = Annotated[list[str], BeforeValidator(_ids)]


class DiscordSettings(BaseModel):
    """Field name -> `DISCORD_<NAME>`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bot_token: str = ""
    api_url: str = DEFAULT_API_URL
    allowed_users: Ids = []
    allow_all_users: bool = False
    allowed_roles: Ids = []
    allowed_channels: Ids = []
    require_mention: bool = True
    free_response_channels: Ids = []
    ignored_channels: Ids = []
    no_thread_channels: Ids = []
    auto_thread: bool = True
    thread_require_mention: bool = False
    allow_bots: Literal["none", "mentions", "all"] = "none"
    reactions: bool = True
    home_channel: str | None = None
    home_channel_name: str = "Home"
    home_channel_thread_id: str | None = None
    max_attachment_bytes: Annotated[int, Field(ge=0)] = 32 * 1024 * 1024
    proxy: str | None = None
    allow_mention_everyone: bool = False
    allow_mention_roles: bool = False
    allow_mention_users: bool = True
    allow_mention_replied_user: bool = True

    @classmethod
    def env_key(cls, field: str) -> str:
        return f"DISCORD_{field.upper()}"

    @classmethod
    def from_environ(cls, environ: dict[str, str]) -> DiscordSettings:
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = environ.get(cls.env_key(name))
            # An empty value is "not set": the fleet manager writes keys it has no value for.
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip().lower() if name == "allow_bots" else raw.strip()
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                key = cls.env_key(str(error["loc"][0]))
                shown = "(redacted)" if key == "DISCORD_BOT_TOKEN" else repr(error.get("input"))
                problems.append(f"config error: {key} = {shown}: {error['msg']}")
            raise ConfigError(problems) from None

    @property
    def configured(self) -> bool:
        return bool(self.bot_token.strip())


@dataclass(frozen=True)
class DiscordOptions:
    settings: DiscordSettings
    api_url: str
    token: str
    access: AccessList
    media_dir: Path
    reconnect_min: float = RECONNECT_MIN_SECONDS
    reconnect_max: float = RECONNECT_MAX_SECONDS

    @classmethod
    def from_config(cls, config: LoadedConfig) -> DiscordOptions:
        settings = DiscordSettings.from_environ(config.environ)
        url = settings.api_url.strip().rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(
                [
                    f"config error: DISCORD_API_URL is {settings.api_url!r}; "
                    f"expected a URL such as {DEFAULT_API_URL}"
                ]
            )
        token = settings.bot_token.strip().removeprefix("Bot ").strip()
        if not token:
            raise ConfigError(
                ["config error: DISCORD_BOT_TOKEN is empty; paste the bot's token from the portal"]
            )
        return cls(
            settings=settings,
            api_url=url,
            token=token,
            access=AccessList(frozenset(settings.allowed_users), settings.allow_all_users),
            media_dir=config.paths.media_cache / "discord",
            reconnect_min=RECONNECT_MIN_SECONDS,
            reconnect_max=RECONNECT_MAX_SECONDS,
        )
