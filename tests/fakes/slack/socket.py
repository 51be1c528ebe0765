"""Socket Mode: tickets from apps.connections.open, the WebSockets, envelopes, acks and redelivery.

Each envelope goes to one of the open connections (round robin, as Slack spreads payloads over up to ten).
An `events_api` envelope not acked within `ack_timeout` (3 s) is delivered again, with the same
`event_id`, a new `envelope_id`, `retry_attempt` counting up and `retry_reason` set, after the delays of
`retry_delays` (Events API schedule: at once, 1 min, 5 min); after the last retry it is dropped. With no
connection open an attempt fails at once (`connection_failed`): Slack keeps no queue for a bot that is down.
Slash commands and interactions are not retried (the user sees a failure in the client instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .model import APP_ID

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 10


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    at: float


@dataclass
class Delivery:
    """One envelope sent and what became of it."""

    envelope: dict[str, Any]
    connection: int
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    ack: Ack | None = None


@dataclass
class SocketSettings:
    ack_timeout: float = 3.0
    retry_delays: tuple[float, ...] = (0.0, 60.0, 300.0)
    ticket_ttl: float = 30.0


class Connection:
    def __init__(self, number: int, ws: web.WebSocketResponse) -> None:
        self.number = number
        self.ws = ws
        self.opened = time.monotonic()
        self.received: list[dict[str, Any]] = []

    @property
    def open(self) -> bool:
        return not self.ws.closed


class SocketMode:
    def __init__(self, settings: SocketSettings) -> None:
        self.settings = settings
        self.enabled = True
        self._tickets: dict[str, float] = {}
        self.connections: list[Connection] = []
        self._numbers = itertools.count(1)
        self._rr = itertools.count()
        self.deliveries: list[Delivery] = []
        self._pending: dict[str, Delivery] = {}
        self.acks: list[Ack] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Condition()
        self.dropped_events: list[dict[str, Any]] = []
        # Acks to lose on the way (as when one arrives after Slack's 3 s): their events come back.
        self.acks_to_lose = 0

    # -- tickets ---------------------------------------------------------------------------------------

    def issue_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        self._tickets[ticket] = time.monotonic() + self.settings.ticket_ttl
        return ticket

    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if c.open]

    # -- the WebSocket ---------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        expires = self._tickets.pop(ticket, None)  # a ticket opens one connection
        if expires is None or expires < time.monotonic():
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        # autoping: pings are answered with their own payload, as slack_sdk's keepalive expects.
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(next(self._numbers), ws)
        self.connections.append(conn)
        if len(self.open_connections()) > MAX_CONNECTIONS:
            await self._send(conn, {"type": "disconnect", "reason": "too_many_websockets"})
            await ws.close()
            return ws
        await self._send(
            conn,
            {
                "type": "hello",
                "num_connections": len(self.open_connections()),
                "debug_info": {
                    "host": "applink-emulator",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            },
        )
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
        finally:
            await self._notify()
        return ws

    def _on_text(self, conn: Connection, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            log.warning("slack emulator: connection %d sent non-JSON %r", conn.number, data[:80])
            return
        conn.received.append(frame)
        envelope_id = frame.get("envelope_id") if isinstance(frame, dict) else None
        if not isinstance(envelope_id, str):
            return
        if self.acks_to_lose > 0 and envelope_id in self._pending:
            self.acks_to_lose -= 1
            return
        ack = Ack(envelope_id, frame.get("payload"), time.monotonic())
        self.acks.append(ack)
        delivery = self._pending.pop(envelope_id, None)
        if delivery is not None:
            delivery.ack = ack
            delivery.acked.set()

    async def _send(self, conn: Connection, frame: dict[str, Any]) -> bool:
        try:
            await conn.ws.send_str(json.dumps(frame))
            return True
        except (ConnectionError, RuntimeError):
            return False

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    # -- envelopes -------------------------------------------------------------------------------------

    def _pick(self) -> Connection | None:
        live = self.open_connections()
        if not live:
            return None
        return live[next(self._rr) % len(live)]

    async def deliver(self, kind: str, payload: dict[str, Any]) -> Delivery | None:
        """Send one envelope now; events_api envelopes are followed until acked or given up."""
        if kind == "events_api":
            task = asyncio.create_task(self._follow(payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return None
        return await self._send_envelope(kind, payload, accepts_response_payload=True)

    async def _send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        extra: dict[str, Any] | None = None,
    ) -> Delivery | None:
        conn = self._pick()
        if conn is None:
            return None
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            **(extra or {}),
        }
        delivery = Delivery(envelope, conn.number)
        self._pending[envelope["envelope_id"]] = delivery
        self.deliveries.append(delivery)
        if not await self._send(conn, envelope):
            self._pending.pop(envelope["envelope_id"], None)
            return None
        return delivery

    async def _follow(self, payload: dict[str, Any]) -> None:
        attempt, reason = 0, ""
        while True:
            extra = {"retry_attempt": attempt, "retry_reason": reason}
            delivery = await self._send_envelope(
                "events_api", payload, accepts_response_payload=False, extra=extra
            )
            if delivery is None:
                reason = "connection_failed"
            else:
                try:
                    await asyncio.wait_for(delivery.acked.wait(), self.settings.ack_timeout)
                    return
                except TimeoutError:
                    self._pending.pop(delivery.envelope["envelope_id"], None)
                    reason = "timeout"
            if attempt >= len(self.settings.retry_delays):
                self.dropped_events.append(payload)
                return
            await asyncio.sleep(self.settings.retry_delays[attempt])
            attempt += 1

    # -- faults ----------------------------------------------------------------------------------------

    async def disconnect(self, reason: str, *, only: int | None = None) -> None:
        """A `disconnect` notice; Slack closes the socket itself some seconds later (refresh) or at once
        (link_disabled)."""
        for conn in self.open_connections():
            if only is None or conn.number == only:
                await self._send(
                    conn, {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}
                )
                if reason == "link_disabled":
                    await conn.ws.close()

    async def send_raw(self, frame: str) -> None:
        """Any text frame, to every open connection: for what a client must survive."""
        for conn in self.open_connections():
            await conn.ws.send_str(frame)

    async def close_all(self) -> None:
        for conn in self.open_connections():
            await conn.ws.close()

    def drop_all(self) -> None:
        """Cut every connection's TCP stream with no close frame."""
        for conn in self.open_connections():
            with contextlib.suppress(Exception):
                transport = conn.ws._req.transport if conn.ws._req else None  # type: ignore[attr-defined]
                if transport is not None:
                    transport.abort()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.close_all()
