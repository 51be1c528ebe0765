"""The Discord settings as the adapter uses them, checked once at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from hermes.config.errors import ConfigError
from hermes.platforms.base import AccessList
from hermes.platforms.discord.settings import DEFAULT_API_URL, DiscordSettings

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

# Reconnect backoff of the Gateway; module constants so tests can shorten them.
RECONNECT_MIN_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 60.0


@dataclass(frozen=True)
class DiscordOptions:
    conf: DiscordSettings
    api_url: str
    token: str
    access: AccessList
    media_dir: Path
    max_age_seconds: float
    reconnect_min: float = RECONNECT_MIN_SECONDS
    reconnect_max: float = RECONNECT_MAX_SECONDS

    @classmethod
    def from_config(cls, config: LoadedConfig) -> DiscordOptions:
        conf = config.section(DiscordSettings)
        url = conf.api_url.strip().rstrip("/")
        parsed = urlparse(url)
        problems = []
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(
                f"config error: discord.api_url (DISCORD_API_URL) is {conf.api_url!r}; "
                f"expected a URL such as {DEFAULT_API_URL}"
            )
        token = (conf.bot_token or "").strip().removeprefix("Bot ").strip()
        if not token:
            problems.append(
                "config error: discord.bot_token (DISCORD_BOT_TOKEN) is empty; paste the bot's token from "
                "the Developer Portal"
            )
        if problems:
            raise ConfigError(problems)
        return cls(
            conf=conf,
            api_url=url,
            token=token,
            access=AccessList(frozenset(conf.allowed_users), conf.allow_all_users),
            media_dir=config.paths.media_cache / "discord",
            max_age_seconds=config.settings.gateway.max_message_age_seconds,
            reconnect_min=RECONNECT_MIN_SECONDS,
            reconnect_max=RECONNECT_MAX_SECONDS,
        )
