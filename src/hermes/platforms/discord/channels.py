"""What the bot knows of channels: from GUILD_CREATE and THREAD_CREATE, else read once with
`GET /channels/{id}`. Threads are channels whose `parent_id` is their text channel."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hermes.platforms.discord.rest import DiscordError, RestClient

log = logging.getLogger(__name__)

DM = 1
THREAD_TYPES = frozenset({10, 11, 12})
# Text-like channels whose history a catch-up reads: text, announcement, and the thread types.
READABLE_TYPES = frozenset({0, 5, *THREAD_TYPES})
_REMEMBERED_THREADS = 4096


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    type: int
    guild_id: str | None
    parent_id: str | None
    name: str
    owner_id: str | None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @classmethod
    def from_wire(cls, data: dict[str, Any], guild_id: str | None = None) -> ChannelInfo:
        return cls(
            id=str(data["id"]),
            type=int(data.get("type") or 0),
            guild_id=str(data.get("guild_id") or guild_id or "") or None,
            parent_id=str(data["parent_id"]) if data.get("parent_id") else None,
            name=str(data.get("name") or ""),
            owner_id=str(data["owner_id"]) if data.get("owner_id") else None,
        )


class Channels:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self.known: dict[str, ChannelInfo] = {}
        # Threads the bot created or wrote in: a message there continues its conversation.
        self._bot_threads: OrderedDict[str, None] = OrderedDict()

    def learn(self, data: dict[str, Any], guild_id: str | None = None) -> ChannelInfo | None:
        if not isinstance(data, dict) or not data.get("id"):
            return None
        info = ChannelInfo.from_wire(data, guild_id)
        self.known[info.id] = info
        return info

    def learn_dm(self, channel_id: str) -> None:
        if channel_id and channel_id not in self.known:
            self.known[channel_id] = ChannelInfo(channel_id, DM, None, None, "", None)

    def learn_guild(self, guild: dict[str, Any]) -> None:
        guild_id = str(guild.get("id") or "")
        for channel in guild.get("channels") or ():
            self.learn(channel, guild_id)
        for thread in guild.get("threads") or ():
            self.learn(thread, guild_id)

    def bot_joined(self, thread_id: str) -> None:
        self._bot_threads[thread_id] = None
        self._bot_threads.move_to_end(thread_id)
        while len(self._bot_threads) > _REMEMBERED_THREADS:
            self._bot_threads.popitem(last=False)

    def bot_in(self, thread: ChannelInfo, bot_id: str) -> bool:
        return thread.id in self._bot_threads or thread.owner_id == bot_id

    async def get(self, channel_id: str) -> ChannelInfo | None:
        found = self.known.get(channel_id)
        if found is not None:
            return found
        try:
            data = await self.rest.request("GET", "/channels/{channel_id}", params={"channel_id": channel_id})
        except DiscordError as exc:
            log.debug("discord: cannot read channel %s: %s", channel_id, exc)
            return None
        return self.learn(data)

    def readable(self, in_scope: Callable[[set[str]], bool] = lambda _: True) -> list[str]:
        """Text channels and threads whose history the catch-up reads; `in_scope` gets each one's ids and
        names (with its parent's, for a thread)."""
        found = []
        for channel in self.known.values():
            if channel.type not in READABLE_TYPES:
                continue
            names = {channel.id, channel.name}
            parent = self.known.get(channel.parent_id or "")
            if parent is not None:
                names |= {parent.id, parent.name}
            if in_scope(names - {""}):
                found.append(channel.id)
        return found
