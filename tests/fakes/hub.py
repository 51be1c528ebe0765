"""The one fake hub of the unit tests: a `HubPort` that records what a platform hands it.

Like the real hub it refuses an event it already knows (a duplicate from a replay) and stores the cursor
that came with an accepted event, and it recognises commands with the real `parse_command`.
`FakeHub(refuse=True)` fails any test in which something reaches the hub; `run_error` makes every
request-driven run fail, as a bug behind the handler would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable

from hermes.agent.contract import AgentEvent, RunRequest
from hermes.gateway.commands import command_menu, parse_command
from hermes.platforms.base import Inbound


class FakeHub:
    def __init__(
        self,
        known: Iterable[str] = (),
        *,
        allowed: Callable[[str], bool] = lambda user_id: True,
        refuse: bool = False,
        run_error: Exception | None = None,
    ) -> None:
        self.known = set(known)
        self.allowed = allowed
        self.refuse = refuse
        self.run_error = run_error
        # (event id, cursor) of every receive call, duplicates included.
        self.received: list[tuple[str, str | None]] = []
        # Every cursor stored, with an accepted event or by save_cursor, in order.
        self.cursors: list[str] = []
        # The cursors of save_cursor calls only.
        self.saved: list[str] = []

    async def receive(self, inbound: Inbound, *, cursor: str | None = None) -> bool:
        if self.refuse:
            raise AssertionError(f"nothing should reach the hub, got {inbound.event_id}")
        self.received.append((inbound.event_id, cursor))
        if inbound.event_id in self.known:
            return False
        self.known.add(inbound.event_id)
        if cursor is not None:
            self.cursors.append(cursor)
        return True

    async def save_cursor(self, platform: str, cursor: str) -> None:
        if self.refuse:
            raise AssertionError(f"no cursor should be stored, got {cursor}")
        self.saved.append(cursor)
        self.cursors.append(cursor)

    async def load_cursor(self, platform: str) -> str | None:
        return self.cursors[-1] if self.cursors else None

    def is_allowed(self, platform: str, user_id: str) -> bool:
        return self.allowed(user_id)

    def is_command(self, text: str, *, bare: bool = False) -> bool:
        return parse_command(text, bare=bare) is not None

    def command_menu(self) -> list[tuple[str, str]]:
        return command_menu()

    def run_request(self, request: RunRequest, cancel: asyncio.Event) -> AsyncIterator[AgentEvent]:
        raise self.run_error or AssertionError("no run was expected")
