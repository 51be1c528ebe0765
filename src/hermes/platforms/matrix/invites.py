"""Room invites: joined when the inviter may talk to the bot, declined otherwise; direct invites are
recorded in the account's `m.direct` so every client of the account shows the room as a DM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path, is_transient
from hermes.platforms.matrix.rooms import DirectRooms

log = logging.getLogger(__name__)


def invite_details(user_id: str, invite_state: list[dict[str, Any]]) -> tuple[str | None, bool]:
    """Who invited the bot (the sender of its invite member event) and whether the invite is direct."""
    for event in invite_state:
        content = found if isinstance(found := event.get("content"), dict) else {}
        if (
            event.get("type") == "m.room.member"
            and event.get("state_key") == user_id
            and content.get("membership") == "invite"
        ):
            return event.get("sender"), content.get("is_direct") is True
    return None, False


class InviteHandler:
    def __init__(
        self,
        http: MatrixHTTP,
        user_id: str,
        direct: DirectRooms,
        is_allowed: Callable[[str], bool],
    ) -> None:
        self.http = http
        self.user_id = user_id
        self.direct = direct
        self.is_allowed = is_allowed

    async def handle(self, room_id: str, room: dict[str, Any]) -> None:
        """One entry of /sync's `rooms.invite`.

        A transient failure is raised, so the sync batch is fetched again and the invite retried; a refusal
        (the invite was withdrawn, the room is gone) is logged and let go.
        """
        events = (room.get("invite_state") or {}).get("events") or []
        inviter, is_direct = invite_details(self.user_id, events)
        try:
            if inviter is not None and self.is_allowed(inviter):
                await self.http.request(Method.POST, client_path("rooms/{}/join", room_id), {})
                log.info("matrix: joined %s on the invitation of %s", room_id, inviter)
                if is_direct:
                    await self.direct.add(inviter, room_id)
            else:
                await self.http.request(Method.POST, client_path("rooms/{}/leave", room_id), {})
                log.warning("matrix: declined an invite to %s from %s: not an allowed user", room_id, inviter)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("matrix: could not answer the invite to %s from %s: %s", room_id, inviter, exc)
