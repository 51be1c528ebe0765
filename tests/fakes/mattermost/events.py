"""A WebSocket event on its way to the hub, and who may receive it (model/websocket_message.go)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Broadcast:
    user_id: str = ""
    channel_id: str = ""
    team_id: str = ""
    omit_users: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "omit_users": {uid: True for uid in sorted(self.omit_users)} or None,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "team_id": self.team_id,
            "connection_id": "",
            "omit_connection_id": "",
        }


@dataclass(frozen=True)
class Event:
    """`mentions`/`followers` feed the per-connection `posted` hooks (app/web_broadcast_hooks.go)."""

    name: str
    data: dict[str, Any]
    broadcast: Broadcast
    mentions: frozenset[str] = frozenset()
    followers: frozenset[str] = frozenset()


class Publisher(Protocol):
    def publish(self, event: Event) -> None: ...
