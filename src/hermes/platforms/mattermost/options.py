"""The Mattermost settings as the adapter uses them, checked once at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from hermes.config.errors import ConfigError
from hermes.platforms.base import AccessList
from hermes.platforms.mattermost.settings import MattermostSettings

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

# Reconnect backoff of the WebSocket (the documented 2 s → 60 s); module constants so tests can shorten them.
RECONNECT_MIN_SECONDS = 2.0
RECONNECT_MAX_SECONDS = 60.0
# The application-level ping the official JS client sends; a ping still unanswered at the next one is a
# dead connection.
PING_INTERVAL_SECONDS = 30.0


def base_url(url: str) -> str:
    """The server root: no trailing slash, no `/api/v4` (operators paste either form)."""
    url = url.strip().rstrip("/")
    return url.removesuffix("/api/v4").rstrip("/")


def websocket_url(root: str) -> str:
    scheme, _, rest = root.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/v4/websocket"


@dataclass(frozen=True)
class MattermostOptions:
    url: str
    token: str
    access: AccessList
    home_channel: str | None
    thread_replies: bool
    require_mention: bool
    free_response_channels: frozenset[str]
    max_message_chars: int
    max_file_bytes: int
    media_dir: Path
    reconnect_min: float = RECONNECT_MIN_SECONDS
    reconnect_max: float = RECONNECT_MAX_SECONDS
    ping_interval: float = PING_INTERVAL_SECONDS

    @property
    def ws_url(self) -> str:
        return websocket_url(self.url)

    @classmethod
    def from_config(cls, config: LoadedConfig) -> MattermostOptions:
        mm = config.section(MattermostSettings)
        url = base_url(mm.url or "")
        parsed = urlparse(url)
        problems: list[str] = []
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(
                f"config error: mattermost.url (MATTERMOST_URL) is {mm.url!r}; "
                "expected the server address, such as https://mm.example.com"
            )
        if not (mm.token or "").strip():
            problems.append(
                "config error: mattermost.token (MATTERMOST_TOKEN) is empty; paste the bot's access token"
            )
        if problems:
            raise ConfigError(problems)
        return cls(
            url=url,
            token=(mm.token or "").strip(),
            access=AccessList(frozenset(mm.allowed_users), mm.allow_all_users),
            home_channel=mm.home_channel or None,
            thread_replies=mm.reply_mode == "thread",
            require_mention=mm.require_mention,
            free_response_channels=frozenset(c.strip() for c in mm.free_response_channels if c.strip()),
            max_message_chars=mm.max_message_chars,
            max_file_bytes=mm.max_file_bytes,
            media_dir=config.paths.media_cache / "mattermost",
            reconnect_min=RECONNECT_MIN_SECONDS,
            reconnect_max=RECONNECT_MAX_SECONDS,
            ping_interval=PING_INTERVAL_SECONDS,
        )
