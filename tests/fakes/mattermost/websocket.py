"""`/api/v4/websocket`: both ways in, the request router and keepalive (api4/websocket.go, platform/)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from aiohttp import WSMsgType, web

from .errors import AppError
from .events import Broadcast
from .hub import Connection, Hub
from .ids import is_valid_id, new_id, now_ms
from .state import Directory

MAX_MESSAGE_BYTES = 8 * 1024  # SocketMaxMessageSizeKb


@dataclass
class SocketSettings:
    auth_timeout: float = 5.0  # authCheckInterval
    ping_interval: float = 60.0  # pingInterval = pongWaitTime * 6 / 10
    pong_wait: float = 100.0  # pongWaitTime


class WebSocketEndpoint:
    def __init__(
        self,
        directory: Directory,
        hub: Hub,
        settings: SocketSettings,
        server_version: Callable[[], str],
    ) -> None:
        self.directory = directory
        self.hub = hub
        self.settings = settings
        self.server_version = server_version

    async def handle(self, request: web.Request, user_id: str | None) -> web.StreamResponse:
        """Upgrade; `user_id` is the session the upgrade carried, if any (an invalid token gives none)."""
        # No permessage-deflate: the server's gorilla Upgrader leaves EnableCompression off.
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=MAX_MESSAGE_BYTES)
        transport = request.transport
        await ws.prepare(request)
        conn = Connection(ws, transport, new_id())
        resumed_id = request.query.get("connection_id", "")
        if user_id is not None and resumed_id and not is_valid_id(resumed_id):
            # PopulateWebConnConfig rejects it and the socket is closed at once. A valid id is never
            # found here (no resumable queues), so it gets a fresh id, as after a server restart.
            conn.abort()
            return ws
        self.hub.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        keepalive = asyncio.create_task(self._keepalive(conn))
        deadline = None
        if user_id is not None:
            self._register(conn, user_id)
            self.directory.set_status(user_id, "online")
        else:
            deadline = asyncio.get_running_loop().call_later(
                self.settings.auth_timeout, self._auth_deadline, conn
            )
        try:
            await self._read_loop(conn)
        finally:
            if deadline is not None:
                deadline.cancel()
            keepalive.cancel()
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
            if not ws.closed:
                conn.abort()
            if self.hub.remove(conn) and conn.user_id is not None:
                self.directory.set_status(conn.user_id, "offline")
            conn.closed.set()
        return ws

    def _register(self, conn: Connection, user_id: str) -> None:
        """HubRegister: the hub queues `hello` (seq 0) before anything else reaches the connection."""
        self.hub.register(conn, user_id)
        hello = {"connection_id": conn.id, "server_version": self.server_version()}
        broadcast = json.dumps(Broadcast(user_id=user_id).to_json(), separators=(",", ":"))
        conn.send_event("hello", json.dumps(hello, separators=(",", ":"), sort_keys=True), broadcast)

    def _auth_deadline(self, conn: Connection) -> None:
        if not conn.authenticated:
            conn.abort()

    async def _keepalive(self, conn: Connection) -> None:
        """WS pings every ping_interval; no pong within pong_wait of the last one drops the socket."""
        next_ping = time.monotonic() + self.settings.ping_interval
        while True:
            now = time.monotonic()
            deadline = conn.last_pong + self.settings.pong_wait
            if now >= deadline:
                conn.abort()
                return
            if now >= next_ping:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.ping()
                next_ping = now + self.settings.ping_interval
            await asyncio.sleep(max(0.0, min(next_ping, deadline) - time.monotonic()))

    async def _read_loop(self, conn: Connection) -> None:
        async for message in conn.ws:
            if message.type == WSMsgType.PING:
                await conn.ws.pong(message.data)
                continue
            if message.type == WSMsgType.PONG:
                conn.last_pong = time.monotonic()
                continue
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return
            request = _decode(message.data, binary=message.type == WSMsgType.BINARY)
            if request is None:
                # readPump returns on a frame it cannot decode: the socket closes.
                return
            if not self._route(conn, *request):
                return

    def _route(self, conn: Connection, seq: int, action: str, data: dict[str, Any]) -> bool:
        """WebSocketRouter.ServeWebSocket. False closes the socket."""
        if action == "":
            self._fail(conn, seq, AppError("api.web_socket_router.no_action.app_error", 400))
        elif seq <= 0:
            self._fail(conn, seq, AppError("api.web_socket_router.bad_seq.app_error", 400))
        elif action == "authentication_challenge":
            return self._challenge(conn, seq, data)
        elif not conn.authenticated:
            self._fail(conn, seq, AppError("api.web_socket_router.not_authenticated.app_error", 401))
        elif (handler := _ACTIONS.get(action)) is None:
            self._fail(conn, seq, AppError("api.web_socket_router.bad_action.app_error", 500))
        else:
            try:
                result = handler(self, conn, data)
            except AppError as error:
                self._fail(conn, seq, error)
            else:
                response: dict[str, Any] = {"status": "OK", "seq_reply": seq}
                if result is not None:
                    response["data"] = result
                conn.send_response(response)
        return True

    def _challenge(self, conn: Connection, seq: int, data: dict[str, Any]) -> bool:
        if conn.authenticated:
            return True  # a second challenge is ignored, with no reply
        token = data.get("token")
        user = self.directory.user_for_token(token) if isinstance(token, str) else None
        if user is None:
            conn.abort()
            return False
        self._register(conn, user.id)
        conn.send_response({"status": "OK", "seq_reply": seq})
        self.directory.set_status(user.id, "online")
        return True

    @staticmethod
    def _fail(conn: Connection, seq: int, error: AppError) -> None:
        """Errors reach registered connections only: the hub drops messages for anyone else."""
        if not conn.authenticated:
            return
        response: dict[str, Any] = {"status": "FAIL"}
        if seq:
            response["seq_reply"] = seq
        body = error.body(None)
        body["detailed_error"] = ""
        response["error"] = body
        conn.send_response(response)

    # actions (wsapi/*.go)

    def _ping(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        version = self.server_version().split(".")
        return {"node_id": "", "server_time": now_ms(), "text": "pong", "version": ".".join(version[:3])}

    def _user_typing(self, conn: Connection, data: dict[str, Any]) -> None:
        channel_id = data.get("channel_id")
        channel = self.directory.channels.get(channel_id) if is_valid_id(channel_id) else None
        user_id = conn.user_id or ""
        if channel is None or not self.directory.is_member(user_id, channel):
            raise AppError("api.websocket_handler.invalid_param.app_error", 400, Name="channel_id")
        parent_id = data.get("parent_id")
        self.directory.publish_typing(user_id, channel, parent_id if isinstance(parent_id, str) else "")

    def _get_statuses(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return {uid: status for uid, status in self.directory.statuses.items() if status != "offline"}

    def _get_statuses_by_ids(self, conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
        ids = data.get("user_ids")
        if not isinstance(ids, list) or not ids or not all(is_valid_id(uid) for uid in ids):
            raise AppError("api.websocket_handler.invalid_param.app_error", 400, Name="user_ids")
        return {uid: self.directory.statuses.get(uid, "offline") for uid in ids}

    def _accept(self, conn: Connection, data: dict[str, Any]) -> None:
        return None


_ACTIONS: dict[str, Callable[[WebSocketEndpoint, Connection, dict[str, Any]], dict[str, Any] | None]] = {
    "ping": WebSocketEndpoint._ping,
    "user_typing": WebSocketEndpoint._user_typing,
    "get_statuses": WebSocketEndpoint._get_statuses,
    "get_statuses_by_ids": WebSocketEndpoint._get_statuses_by_ids,
    "user_update_active_status": WebSocketEndpoint._accept,
    "posted_notify_ack": WebSocketEndpoint._accept,
}


def _decode(raw: str | bytes, *, binary: bool) -> tuple[int, str, dict[str, Any]] | None:
    """Decode a `WebSocketRequest` the way Go's decoder would, or None where Go would fail."""
    try:
        if binary:
            request = msgpack.unpackb(raw)
        else:
            # json.Decoder.Decode reads one value and leaves whatever follows it in the frame.
            request, _ = json.JSONDecoder().raw_decode(str(raw).lstrip())
    except (ValueError, msgpack.UnpackException):
        return None
    if not isinstance(request, dict):
        return None
    seq = request.get("seq", 0)
    action = request.get("action", "")
    data = request.get("data")
    seq = 0 if seq is None else seq
    action = "" if action is None else action
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(action, str):
        return None
    if data is not None and not isinstance(data, dict):
        return None
    return seq, action, data or {}
