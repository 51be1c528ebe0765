"""The Slack settings as the adapter uses them, checked once at start: a bad value stops the gateway with
one line naming the key and what is expected."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hermes.config.errors import ConfigError
from hermes.platforms.base import AccessList
from hermes.platforms.slack.settings import DEFAULT_API_URL, SlackSettings

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

# slack_sdk's keepalive: a ping every interval, a connection without pong for 4 intervals is stale and
# replaced through apps.connections.open. Bolt uses 10 s; a module constant so tests can shorten it.
PING_INTERVAL_SECONDS = 10.0
AllowBots = Literal["none", "mentions", "all"]


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

    @classmethod
    def from_config(cls, config: LoadedConfig) -> SlackOptions:
        return cls.from_settings(config.section(SlackSettings), config.paths.media_cache / "slack")

    @classmethod
    def from_settings(cls, slack: SlackSettings, media_dir: Path) -> SlackOptions:
        problems: list[str] = []
        # The system we are compatible with takes several comma-separated bot tokens (one per workspace);
        # this adapter serves one workspace, so only the first one counts.
        bot_token = (slack.bot_token or "").split(",")[0].strip()
        app_token = (slack.app_token or "").strip()
        if not bot_token.startswith("xoxb-"):
            problems.append(
                "config error: slack.bot_token (SLACK_BOT_TOKEN) must be the app's Bot User OAuth Token "
                "(xoxb-…): Slack app settings → OAuth & Permissions"
            )
        if not app_token:
            problems.append(
                "config error: slack.app_token (SLACK_APP_TOKEN) is not set; Socket Mode needs an app-level "
                "token (xapp-…) with connections:write: Slack app settings → Basic Information"
            )
        elif not app_token.startswith("xapp-"):
            problems.append(
                "config error: slack.app_token (SLACK_APP_TOKEN) must be an app-level token (xapp-…) with "
                "connections:write, not a bot or user token"
            )
        api_url = slack.api_url.strip()
        if not re.match(r"^https?://[^/\s]+", api_url):
            problems.append(
                f"config error: slack.api_url (SLACK_API_URL) is {api_url!r}; expected a URL such as "
                f"{DEFAULT_API_URL}"
            )
        patterns = _patterns(slack.mention_patterns, problems)
        if problems:
            raise ConfigError(problems)
        return cls(
            bot_token=bot_token,
            app_token=app_token,
            api_url=api_url.rstrip("/") + "/",
            access=AccessList(_ids(slack.allowed_users), slack.allow_all_users),
            home_channel=(slack.home_channel or "").strip() or None,
            home_channel_name=slack.home_channel_name,
            allowed_channels=_ids(slack.allowed_channels),
            free_response_channels=_ids(slack.free_response_channels),
            require_mention=slack.require_mention,
            strict_mention=slack.strict_mention,
            allow_bots=slack.allow_bots,
            reactions=slack.reactions,
            mention_patterns=patterns,
            media_dir=media_dir,
            ping_interval=PING_INTERVAL_SECONDS,
        )


def _ids(values: list[str]) -> frozenset[str]:
    return frozenset(v.strip() for v in values if v.strip())


def _patterns(raw: list[str], problems: list[str]) -> tuple[re.Pattern[str], ...]:
    """A list in config.yaml; in SLACK_MENTION_PATTERNS a JSON list or values separated by commas or
    newlines, as the compatible system reads it (the loader has already split the value at its commas)."""
    joined = ",".join(raw)
    items: list[object] = [line.strip() for part in raw for line in part.split("\n")]
    if joined.lstrip().startswith("["):
        try:
            value = json.loads(joined)
        except ValueError:
            value = None
        if isinstance(value, list):
            items = value
    compiled = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        try:
            compiled.append(re.compile(item, re.IGNORECASE))
        except re.error as exc:
            problems.append(
                f"config error: slack.mention_patterns (SLACK_MENTION_PATTERNS): {item!r} is not a valid "
                f"regular expression ({exc})"
            )
    return tuple(compiled)
