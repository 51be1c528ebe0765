"""The Gateway (v10, JSON, uncompressed text frames): HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE,
RESUME with replay, RECONNECT, INVALID_SESSION and the close codes, one session per IDENTIFY.

A session outlives its socket: dispatches published while no socket is attached are buffered and
replayed on RESUME, as Discord does for a few minutes. Closing with 1000/1001 ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .model import GATEWAY_GUILD_MEMBERS, GATEWAY_MESSAGE_CONTENT, GATEWAY_PRESENCE, Channel, User
from .state import World

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
GUILD_MESSAGE_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
DIRECT_MESSAGE_TYPING = 1 << 14
MESSAGE_CONTENT = 1 << 15
ALL_INTENTS = (1 << 26) - 1
# intent bit -> the application flag the developer portal sets when it is enabled, and its portal name
PRIVILEGED = {
    GUILD_MEMBERS: GATEWAY_GUILD_MEMBERS,
    GUILD_PRESENCES: GATEWAY_PRESENCE,
    MESSAGE_CONTENT: GATEWAY_MESSAGE_CONTENT,
}
MAX_PAYLOAD = 4096
SENDS_PER_MINUTE = 120
REPLAY_LIMIT = 2000

# dispatch -> (intent needed in a guild, intent needed in a DM); None = always delivered
_NEEDS: dict[str, tuple[int, int] | None] = {
    "MESSAGE_CREATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_DELETE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    "TYPING_START": (GUILD_MESSAGE_TYPING, DIRECT_MESSAGE_TYPING),
    "THREAD_CREATE": (GUILDS, 0),
    "INTERACTION_CREATE": None,
}


@dataclass
class Session:
    id: str
    user: User
    intents: int
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    socket: Connection | None = None

    @property
    def content_intent(self) -> bool:
        return bool(self.intents & MESSAGE_CONTENT)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    session: Session | None = None
    sends: list[float] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[dict[str, Any]] = field(default_factory=list)  # every client payload, in order
    # Everything sent goes through one queue, so a replay and live dispatches never interleave.
    outbox: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def send(self, frame: dict[str, Any]) -> None:
        self.outbox.put_nowait(frame)

    async def write_loop(self) -> None:
        while (frame := await self.outbox.get()) is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_json(frame)

    async def flush_and_close(self, code: int, message: bytes) -> None:
        self.server_closed = True
        self.outbox.put_nowait(None)
        await self.writer_done.wait()
        await self.ws.close(code=code, message=message)

    writer_done: asyncio.Event = field(default_factory=asyncio.Event)

    closing: tuple[int, bytes] = (1000, b"")
    server_closed: bool = False

    def refuse(self, code: int, message: bytes) -> bool:
        self.closing = (code, message)
        return False

    def abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class GatewayEndpoint:
    def __init__(self, world: World, url: Callable[[], str], heartbeat_interval_ms: int) -> None:
        self.world = world
        self.url = url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.identifies = 0
        self.resumes = 0
        # Scripted faults: op 7 instead of the next HELLO; heartbeats left unanswered (a zombie link).
        self.reconnect_before_hello = False
        self.ack_heartbeats = True

    # -- publishing ------------------------------------------------------------------------------------

    def publish(self, event: str, data: dict[str, Any], channel: Channel) -> None:
        needs = _NEEDS.get(event, (GUILDS, 0))
        for session in list(self.sessions.values()):
            if not self.world.can_see(session.user, channel):
                continue
            if needs is not None:
                bit = needs[0] if channel.guild_id else needs[1]
                if bit and not session.intents & bit:
                    continue
            self._dispatch(session, event, self._payload(session, event, data))

    def _payload(self, session: Session, event: str, data: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            message = world.messages[data["message"]]
            return world.event_wire(message, session.user, has_intent=session.content_intent)
        if event == "THREAD_CREATE":
            wire = world.channels[data["channel"]].wire(world.users)
            return {**wire, "newly_created": data.get("newly_created", False)}
        if event == "INTERACTION_CREATE":
            return world.interaction_wire(world.interactions[data["interaction"]])
        return data

    def _dispatch(self, session: Session, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": 0, "s": session.seq, "t": event, "d": data}
        session.buffer.append(frame)
        del session.buffer[:-REPLAY_LIMIT]
        if session.socket is not None:
            session.socket.send(frame)

    # -- faults ----------------------------------------------------------------------------------------

    def dispatch_raw(self, event: str, data: Any) -> None:
        """Any dispatch, as given, to every session: for events a client must survive."""
        for session in list(self.sessions.values()):
            self._dispatch(session, event, data)

    def drop_all(self) -> None:
        """Cut every socket (TCP reset, no close frame); the sessions stay resumable."""
        for conn in list(self.connections):
            conn.abort()

    async def close_all(self, code: int, message: str = "") -> None:
        for conn in list(self.connections):
            await conn.flush_and_close(code, message.encode())

    async def send_reconnect(self) -> None:
        """op 7: the client should close and resume."""
        for conn in list(self.connections):
            conn.send({"op": 7, "d": None, "s": None, "t": None})

    async def invalidate(self, resumable: bool) -> None:
        """op 9 on every socket; with resumable False the sessions are gone."""
        if not resumable:
            self.sessions.clear()
        for conn in list(self.connections):
            conn.send({"op": 9, "d": resumable, "s": None, "t": None})

    def forget_sessions(self) -> None:
        """The sessions expire (as minutes after a disconnect): a RESUME then gets op 9 false."""
        self.sessions.clear()

    # -- the socket ------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("v") != "10" or request.query.get("encoding", "json") != "json":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            code = 4012 if request.query.get("v") != "10" else 4002
            await ws.close(
                code=code, message=b"Invalid API version" if code == 4012 else b"Error while decoding"
            )
            return ws
        ws = web.WebSocketResponse(max_msg_size=1 << 20, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request)
        self.connections.append(conn)
        writer = asyncio.create_task(conn.write_loop())
        writer.add_done_callback(lambda _: conn.writer_done.set())
        try:
            if self.reconnect_before_hello:
                self.reconnect_before_hello = False
                conn.send({"op": 7, "d": None, "s": None, "t": None})
                await conn.flush_and_close(4000, b"Reconnect")
                return ws
            conn.send(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
            )
            await self._serve(conn)
        finally:
            conn.outbox.put_nowait(None)
            await writer
            self.connections.remove(conn)
            session = conn.session
            if session is not None and session.socket is conn:
                session.socket = None
                if ws.close_code in (1000, 1001) and not conn.server_closed:
                    # A client that closes normally ends its session (the bot goes offline).
                    self.sessions.pop(session.id, None)
            conn.closed.set()
        return ws

    async def _serve(self, conn: Connection) -> None:
        ws = conn.ws
        async for frame in ws:
            if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            raw = frame.data if isinstance(frame.data, bytes) else frame.data.encode()
            if len(raw) > MAX_PAYLOAD:
                await conn.flush_and_close(4002, b"Error while decoding payload.")
                return
            try:
                payload = json.loads(raw)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await conn.flush_and_close(4002, b"Error while decoding payload.")
                return
            conn.received.append(payload)
            now = time.monotonic()
            conn.sends = [t for t in conn.sends if now - t < 60.0] + [now]
            if len(conn.sends) > SENDS_PER_MINUTE:
                await conn.flush_and_close(4008, b"Rate limited.")
                return
            if not await self._on_payload(conn, op, payload.get("d")):
                await conn.flush_and_close(*conn.closing)
                return

    async def _on_payload(self, conn: Connection, op: Any, data: Any) -> bool:
        if op == 1:
            if self.ack_heartbeats:
                conn.send({"op": 11, "d": None, "s": None, "t": None})
            return True
        if op == 2:
            return await self._identify(conn, data)
        if op == 6:
            return await self._resume(conn, data)
        if op in (3, 4, 8, 31):
            if conn.session is None:
                return conn.refuse(4003, b"Not authenticated.")
            return True
        return conn.refuse(4001, b"Unknown opcode.")

    async def _identify(self, conn: Connection, data: Any) -> bool:
        if conn.session is not None:
            return conn.refuse(4005, b"Already authenticated.")
        if not isinstance(data, dict) or not isinstance(data.get("intents"), int):
            return conn.refuse(4002, b"Error while decoding payload.")
        user = self._bot_for(data.get("token"))
        if user is None:
            return conn.refuse(4004, b"Authentication failed.")
        intents = data["intents"]
        if intents & ~ALL_INTENTS or intents < 0:
            return conn.refuse(4013, b"Invalid intent(s).")
        app = self.world.app
        flags = app.flags if app else 0
        if any(intents & bit and not flags & flag for bit, flag in PRIVILEGED.items()):
            return conn.refuse(4014, b"Disallowed intent(s).")
        self.identifies += 1
        session = Session(secrets.token_hex(16), user, intents, socket=conn)
        self.sessions[session.id] = session
        conn.session = session
        guilds = [g for g in self.world.guilds.values() if user.id in g.members]
        ready = {
            "v": 10,
            "user": {**user.wire(), "bot": True, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.url(),
            "private_channels": [],
            "relationships": [],
            "application": {"id": app.id if app else user.id, "flags": flags},
        }
        self._dispatch(session, "READY", ready)
        for guild in guilds:
            self._dispatch(session, "GUILD_CREATE", self._guild_create(guild))
        return True

    def _guild_create(self, guild: Any) -> dict[str, Any]:
        world = self.world
        channels = [c for c in world.channels.values() if c.guild_id == guild.id]
        return {
            "id": guild.id,
            "name": guild.name,
            "owner_id": guild.owner_id,
            "unavailable": False,
            "large": False,
            "member_count": len(guild.members),
            "roles": [
                {"id": r, "name": n, "permissions": "0", "position": 0} for r, n in guild.roles.items()
            ],
            "channels": [c.wire(world.users) for c in channels if not c.is_thread],
            "threads": [c.wire(world.users) for c in channels if c.is_thread and not c.archived],
            "members": [],
            "voice_states": [],
            "presences": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
        }

    async def _resume(self, conn: Connection, data: Any) -> bool:
        if not isinstance(data, dict):
            return conn.refuse(4002, b"Error while decoding payload.")
        session = self.sessions.get(str(data.get("session_id")))
        user = self._bot_for(data.get("token"))
        if user is None:
            return conn.refuse(4004, b"Authentication failed.")
        seq = data.get("seq")
        if session is None or session.user.id != user.id or not isinstance(seq, int) or seq > session.seq:
            conn.send({"op": 9, "d": False, "s": None, "t": None})
            return True
        if session.socket is not None and session.socket is not conn:
            session.socket.abort()
        self.resumes += 1
        session.socket = conn
        conn.session = session
        for frame in [f for f in session.buffer if f["s"] > seq]:
            conn.send(frame)
        self._dispatch(session, "RESUMED", None)
        return True

    def _bot_for(self, token: Any) -> User | None:
        if not isinstance(token, str):
            return None
        token = token.removeprefix("Bot ")
        return next((u for u in self.world.users.values() if u.bot and u.token == token), None)
