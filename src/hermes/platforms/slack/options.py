"""The Slack settings, read once at start from the environment layers the config loader merged
(`.env`, `.env.d/*.env`, the process environment), with the names and defaults of the system we are
compatible with. A bad value stops the platform with one line naming the key and what is allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hermes.config.errors import ConfigError
from hermes.platforms.base import AccessList

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hermes.config import LoadedConfig

DEFAULT_API_URL = "https://slack.com/api/"
# slack_sdk's keepalive: a ping every interval, a connection without pong for 4 intervals is stale and
# replaced through apps.connections.open. Bolt uses 10 s; a module constant so tests can shorten it.
PING_INTERVAL_SECONDS = 10.0
AllowBots = Literal["none", "mentions", "all"]
_FALSE = {"false", "0", "no", "off"}
_TRUE = {"true", "1", "yes", "on"}


@dataclass(frozen=True)
class SlackOptions:
    bot_token: str
    app_token: str
    api_url: str
    access: AccessList
    home_channel: str | None
    home_channel_name: str
    allowed_channels: frozenset[str]
    free_response_channels: frozenset[str]
    require_mention: bool
    strict_mention: bool
    allow_bots: AllowBots
    reactions: bool
    mention_patterns: tuple[re.Pattern[str], ...]
    media_dir: Path
    ping_interval: float = PING_INTERVAL_SECONDS

    @staticmethod
    def configured(environ: Mapping[str, str]) -> bool:
        return bool(environ.get("SLACK_BOT_TOKEN", "").strip())

    @classmethod
    def from_config(cls, config: LoadedConfig) -> SlackOptions:
        return cls.from_environ(config.environ, config.paths.media_cache / "slack")

    @classmethod
    def from_environ(cls, env: Mapping[str, str], media_dir: Path) -> SlackOptions:
        problems: list[str] = []

        def text(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        def listed(name: str) -> frozenset[str]:
            return frozenset(part.strip() for part in text(name).split(",") if part.strip())

        def boolean(name: str, default: bool) -> bool:
            raw = text(name).lower()
            if not raw:
                return default
            if raw in _TRUE | _FALSE:
                return raw in _TRUE
            problems.append(f"config error: {name} = {env[name]!r}: allowed: true or false")
            return default

        # The system we are compatible with takes several comma-separated bot tokens (one per workspace);
        # this adapter serves one workspace, so only the first one counts.
        bot_token = text("SLACK_BOT_TOKEN").split(",")[0].strip()
        app_token = text("SLACK_APP_TOKEN")
        if not bot_token.startswith("xoxb-"):
            problems.append(
                "config error: SLACK_BOT_TOKEN must be the app's Bot User OAuth Token (xoxb-…): "
                "Slack app settings → OAuth & Permissions"
            )
        if not app_token:
            problems.append(
                "config error: SLACK_APP_TOKEN is not set; Socket Mode needs an app-level token (xapp-…) "
                "with the connections:write scope: Slack app settings → Basic Information → App-Level Tokens"
            )
        elif not app_token.startswith("xapp-"):
            problems.append(
                "config error: SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write, "
                "not a bot or user token"
            )
        api_url = text("SLACK_API_URL", DEFAULT_API_URL)
        if not re.match(r"^https?://[^/\s]+", api_url):
            problems.append(
                f"config error: SLACK_API_URL = {api_url!r}: expected a URL such as {DEFAULT_API_URL}"
            )
        api_url = api_url.rstrip("/") + "/"
        allow_bots = text("SLACK_ALLOW_BOTS", "none").lower()
        if allow_bots not in ("none", "mentions", "all"):
            problems.append(
                f"config error: SLACK_ALLOW_BOTS = {env['SLACK_ALLOW_BOTS']!r}: allowed: none, mentions, all"
            )
            allow_bots = "none"
        patterns = _patterns(text("SLACK_MENTION_PATTERNS"), problems)
        options = cls(
            bot_token=bot_token,
            app_token=app_token,
            api_url=api_url,
            access=AccessList(listed("SLACK_ALLOWED_USERS"), boolean("SLACK_ALLOW_ALL_USERS", False)),
            home_channel=text("SLACK_HOME_CHANNEL") or None,
            home_channel_name=text("SLACK_HOME_CHANNEL_NAME"),
            allowed_channels=listed("SLACK_ALLOWED_CHANNELS"),
            free_response_channels=listed("SLACK_FREE_RESPONSE_CHANNELS"),
            require_mention=boolean("SLACK_REQUIRE_MENTION", True),
            strict_mention=boolean("SLACK_STRICT_MENTION", False),
            allow_bots=allow_bots,  # type: ignore[arg-type]
            reactions=boolean("SLACK_REACTIONS", True),
            mention_patterns=patterns,
            media_dir=media_dir,
            ping_interval=PING_INTERVAL_SECONDS,
        )
        if problems:
            raise ConfigError(problems)
        return options


def _patterns(raw: str, problems: list[str]) -> tuple[re.Pattern[str], ...]:
    """A JSON list, or values separated by commas or newlines (as the compatible system reads them)."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        value = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    compiled = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        try:
            compiled.append(re.compile(item, re.IGNORECASE))
        except re.error as exc:
            problems.append(f"config error: SLACK_MENTION_PATTERNS: {item!r} is not a valid pattern ({exc})")
    return tuple(compiled)
