"""The dashboard's side of the gateway's control socket: status, and streamed chat turns."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from hermes.gateway.control import MAX_LINE_BYTES, encode

STATUS_TIMEOUT = 2.0


class GatewayUnavailable(Exception):
    """No gateway answers (not running), or it answered with an error."""


class GatewayLink:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def status(self) -> dict[str, Any] | None:
        """The running gateway's status report, or None when no gateway answers."""
        try:
            async with asyncio.timeout(STATUS_TIMEOUT):
                answer = await self._one({"request": "status"})
        except (GatewayUnavailable, TimeoutError):
            return None
        status = answer.get("status")
        return status if isinstance(status, dict) else None

    async def _one(self, request: Mapping[str, Any]) -> dict[str, Any]:
        async for line in self._lines(request):
            return line
        raise GatewayUnavailable("the gateway closed the connection without answering")

    async def stream(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The events of a streamed request, until the gateway says it is done."""
        async for line in self._lines(request):
            if line.get("done"):
                return
            event = line.get("event")
            if isinstance(event, dict):
                yield event

    async def _lines(self, request: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.path), limit=MAX_LINE_BYTES)
        except OSError as exc:
            raise GatewayUnavailable("the gateway is not running") from exc
        try:
            writer.write(encode(request))
            await writer.drain()
            while line := await reader.readline():
                answer = json.loads(line)
                if not isinstance(answer, dict) or not answer.get("ok"):
                    error = answer.get("error") if isinstance(answer, dict) else "a bad answer"
                    raise GatewayUnavailable(f"the gateway refused: {error}")
                yield answer
        except (OSError, ValueError) as exc:
            raise GatewayUnavailable(f"lost the gateway: {exc}") from exc
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
