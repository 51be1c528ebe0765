"""Where a platform's proactive messages go: the one home-channel lookup (cron deliveries, send_message)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from hermes.platforms.base import ChatRef, Platform

if TYPE_CHECKING:
    from hermes.store.homes import HomeChannel


class HomesReader(Protocol):
    async def get(self, platform: str) -> HomeChannel | None: ...


async def home_chat(homes: HomesReader, platform: Platform) -> ChatRef | None:
    """The home set with /sethome, else the one from the platform's settings; None when there is neither."""
    home = await homes.get(platform.name)
    if home is not None:
        return ChatRef(platform.name, home.chat_id, "channel", home.thread_id)
    return platform.default_home


def no_home(platform: str) -> LookupError:
    return LookupError(f"{platform} has no home channel: send /sethome in the chat that should be it")
