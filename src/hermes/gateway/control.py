"""The daemon's local control socket: `hermes gateway status` asks the running gateway how it is doing.

A Unix socket, `HERMES_HOME/gateway.sock`, mode 0600 so that only the owner can ask. One JSON object per
line each way: `{"request": "status"}` is answered `{"ok": true, "status": {...}}`; anything else gets
`{"ok": false, "error": "..."}` and the connection stays usable. A bad client costs one error line, never
the daemon. A streamed request (the dashboard's chat) is answered by one `{"ok": true, "event": {...}}` line
per event, then `{"ok": true, "done": true}`. What a request answers is the handlers' business
(`status_report.py` for "status" and "reload").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import tempfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from hermes.config.paths import HermesPaths

log = logging.getLogger(__name__)

SOCKET_NAME = "gateway.sock"
MAX_LINE_BYTES = 64 * 1024
IDLE_SECONDS = 30.0
# AF_UNIX paths are limited to 107 bytes on Linux (103 on macOS).
_MAX_PATH_BYTES = 100

Handler = Callable[[], Awaitable[Mapping[str, Any]]]
# Gets the whole request, so it can carry arguments; yields the events to send back.
StreamHandler = Callable[[Mapping[str, Any]], AsyncGenerator[Mapping[str, Any], None]]


def control_socket_path(paths: HermesPaths) -> Path:
    """`HERMES_HOME/gateway.sock`; for a home whose path is too long for a socket, a private directory
    under the temp dir, named from the home, so the daemon and the CLI find the same one."""
    path = paths.home / SOCKET_NAME
    if len(os.fsencode(path)) <= _MAX_PATH_BYTES:
        return path
    digest = hashlib.sha256(os.fsencode(paths.home)).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"hermes-{os.getuid()}" / f"{digest}.sock"


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class ControlServer:
    def __init__(
        self, path: Path, handlers: Mapping[str, Handler], streams: Mapping[str, StreamHandler] | None = None
    ) -> None:
        self.path = path
        self.handlers = dict(handlers)
        self.streams = dict(streams or {})
        self._server: asyncio.Server | None = None
        self._inode: int | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> bool:
        """Listen; False (logged) when the socket cannot be made, for the gateway runs on without it."""
        try:
            await asyncio.to_thread(self._prepare_directory)
            if await self._answered():
                log.error(
                    "another gateway answers on %s (the same HERMES_HOME?); status requests reach that one",
                    self.path,
                )
                return False
            await asyncio.to_thread(self._remove_stale)
            # Bound under a temporary name and renamed once private: nobody can connect in between.
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            self._server = await asyncio.start_unix_server(
                self._connection, path=str(temporary), limit=MAX_LINE_BYTES
            )
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
            self._inode = self.path.stat().st_ino
        except OSError as exc:
            log.error("control socket %s: %s; `hermes gateway status` will not work", self.path, exc)
            await self.stop()
            return False
        log.info("control socket at %s", self.path)
        return True

    def _prepare_directory(self) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = directory.stat()
        if directory != directory.parent and info.st_uid != os.getuid():
            raise PermissionError(f"{directory} belongs to another user")

    async def _answered(self) -> bool:
        if not self.path.exists():
            return False
        try:
            async with asyncio.timeout(1.0):
                _, writer = await asyncio.open_unix_connection(str(self.path))
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def _remove_stale(self) -> None:
        """A socket left by a gateway that died; anything that is not a socket is not ours to remove."""
        try:
            info = self.path.lstat()
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode):
            raise FileExistsError(f"{self.path} exists and is not a socket")
        self.path.unlink()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._inode is not None:
            with contextlib.suppress(FileNotFoundError):
                if self.path.stat().st_ino == self._inode:
                    self.path.unlink()
            self._inode = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                try:
                    async with asyncio.timeout(IDLE_SECONDS):
                        line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(
                        encode({"ok": False, "error": f"request longer than {MAX_LINE_BYTES} bytes"})
                    )
                    await writer.drain()
                    return
                if not line:
                    return
                stream = self._stream(line)
                if stream is not None:
                    await self._send_stream(stream, writer)
                    continue
                writer.write(encode(await self._answer(line)))
                await writer.drain()
        except (TimeoutError, ConnectionError):
            return
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _stream(self, line: bytes) -> AsyncGenerator[Mapping[str, Any], None] | None:
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict) and message.get("request") in self.streams:
                return self.streams[message["request"]](message)
        return None

    async def _send_stream(
        self, stream: AsyncGenerator[Mapping[str, Any], None], writer: asyncio.StreamWriter
    ) -> None:
        """Events as they come; a client that goes away ends the stream (and so its run)."""
        try:
            async for event in stream:
                writer.write(encode({"ok": True, "event": dict(event)}))
                await writer.drain()
            writer.write(encode({"ok": True, "done": True}))
        except ConnectionError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            writer.write(encode({"ok": False, "error": str(exc)}))
        except Exception as exc:
            log.exception("control socket: a streamed request failed")
            writer.write(encode({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        finally:
            await stream.aclose()
        await writer.drain()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            message = json.loads(line)
        except ValueError as exc:
            return {"ok": False, "error": f"not a JSON object: {exc}"}
        name = message.get("request") if isinstance(message, dict) else None
        handler = self.handlers.get(name) if isinstance(name, str) else None
        if handler is None:
            known = ", ".join(sorted([*self.handlers, *self.streams]))
            return {"ok": False, "error": f"unknown request {name!r}; known: {known}"}
        try:
            return {"ok": True, str(name): dict(await handler())}
        except Exception as exc:
            log.exception("control socket: %s request failed", name)
            return {"ok": False, "error": f"{name} failed: {type(exc).__name__}: {exc}"}


def ask(path: Path, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """One request to a running gateway, from a process without an event loop (the CLI). Raises OSError
    (no gateway there), TimeoutError, or ValueError (an answer that is not JSON)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        client.sendall(encode(request))
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data)
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    return answer
