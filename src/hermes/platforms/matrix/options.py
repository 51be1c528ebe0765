"""The Matrix settings as the adapter uses them, checked once at start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from hermes.config.errors import ConfigError
from hermes.platforms.base import AccessList
from hermes.platforms.matrix.settings import E2EEMode, MatrixSettings

if TYPE_CHECKING:
    from hermes.config import LoadedConfig


@dataclass(frozen=True)
class LoginSettings:
    homeserver: str
    access_token: str | None
    user_id: str | None
    password: str | None
    device_id: str | None


@dataclass(frozen=True)
class MatrixOptions:
    login: LoginSettings
    access: AccessList
    require_mention: bool
    free_rooms: frozenset[str]
    auto_thread: bool
    dm_mention_threads: bool
    process_notices: bool
    ignore_patterns: tuple[re.Pattern[str], ...]
    max_media_bytes: int
    max_message_chars: int
    home_room: str | None
    e2ee_mode: E2EEMode
    recovery_key: str | None
    state_dir: Path
    media_dir: Path
    # The Hermes store's PostgreSQL URL: the crypto store then lives in that database, shared by replicas.
    database_url: str | None = None
    database_pool_size: int = 4

    @classmethod
    def from_config(cls, config: LoadedConfig) -> MatrixOptions:
        matrix = config.section(MatrixSettings)
        problems: list[str] = []
        homeserver = (matrix.homeserver or "").rstrip("/")
        parsed = urlparse(homeserver)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(
                f"config error: matrix.homeserver (MATRIX_HOMESERVER) is {matrix.homeserver!r}; "
                "expected a URL such as https://matrix.example.org"
            )
        patterns: list[re.Pattern[str]] = []
        for pattern in matrix.ignore_user_patterns:
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                problems.append(
                    f"config error: matrix.ignore_user_patterns has {pattern!r}, which is not a valid "
                    f"regular expression ({exc})"
                )
        if problems:
            raise ConfigError(problems)
        return cls(
            login=LoginSettings(
                homeserver=homeserver,
                access_token=matrix.access_token,
                user_id=matrix.user_id,
                password=matrix.password,
                device_id=matrix.device_id,
            ),
            access=AccessList(frozenset(matrix.allowed_users), matrix.allow_all_users),
            require_mention=matrix.require_mention,
            free_rooms=frozenset(matrix.free_response_rooms),
            auto_thread=matrix.auto_thread,
            dm_mention_threads=matrix.dm_mention_threads,
            process_notices=matrix.process_notices,
            ignore_patterns=tuple(patterns),
            max_media_bytes=matrix.max_media_bytes,
            max_message_chars=matrix.max_message_chars,
            home_room=matrix.home_room or None,
            e2ee_mode=matrix.effective_e2ee_mode,
            recovery_key=(matrix.recovery_key or "").strip() or None,
            state_dir=config.paths.platform_dir("matrix"),
            media_dir=config.paths.media_cache / "matrix",
            database_url=config.settings.store.url,
            database_pool_size=config.settings.store.pool_size,
        )
