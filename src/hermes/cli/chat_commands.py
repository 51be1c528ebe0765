"""The chat platforms' slash commands in `hermes chat`, run by the very handlers the hub runs
(`gateway/commands.py`), so the terminal and the chats cannot drift apart.

The handlers see the sessions and homes repositories and the session's runs (`commands.RunsPort`);
`TerminalHub` is the runs of a terminal session: its one reply at a time, and a retry that the chat loop
runs itself.
"""

from __future__ import annotations

import getpass
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hermes.platforms.base import ChatRef, Inbound

if TYPE_CHECKING:
    import asyncio

    from hermes.store import Store

PLATFORM = "cli"


@dataclass
class TerminalLane:
    """The session's reply in progress, as `/stop` and `/new` see it."""

    cancel: asyncio.Event | None = None

    @property
    def busy(self) -> bool:
        return self.cancel is not None

    def interrupt(self) -> bool:
        if self.cancel is None:
            return False
        self.cancel.set()
        return True


@dataclass
class TerminalHub:
    store: Store
    default_model: str
    lane_: TerminalLane = field(default_factory=TerminalLane)
    started_at: float = field(default_factory=time.time)
    # Set by `/retry`: the question the chat loop asks again.
    retry: Inbound | None = None

    def clock(self) -> float:
        return time.time()

    @property
    def runs_in_flight(self) -> int:
        return int(self.lane_.busy)

    def interrupt(self, session_key: str) -> bool:
        return self.lane_.interrupt()

    def has_owner(self, platform: str) -> bool:
        # The terminal is the operator's own: no one else could be the owner here.
        return False

    def is_owner(self, platform: str, user_id: str) -> bool:
        return True

    def run_again(self, key: str, inbound: Inbound) -> None:
        self.retry = inbound


def terminal_inbound(text: str) -> Inbound:
    user = getpass.getuser()
    return Inbound(
        event_id=f"cli:{uuid.uuid4().hex}",
        chat=ChatRef(PLATFORM, "local", "dm"),
        sender_id=user,
        sender_name=user,
        text=text,
        addressed=True,
        sent_at=time.time(),
    )


async def run_command(hub: TerminalHub, session_key: str, text: str) -> str | None:
    """The command's answer (None: it has none, as `/retry`); LookupError when the chats know no such
    command."""
    from hermes.gateway.commands import CommandContext, parse_command

    parsed = parse_command(text)
    if parsed is None:
        raise LookupError(text.split()[0])
    found, args = parsed
    context = CommandContext(
        terminal_inbound(text),
        session_key,
        found,
        args,
        sessions=hub.store.sessions,
        homes=hub.store.homes,
        runs=hub,
        owners=hub,
        default_model=hub.default_model,
        uptime_seconds=hub.clock() - hub.started_at,
    )
    return await found.handler(context)
