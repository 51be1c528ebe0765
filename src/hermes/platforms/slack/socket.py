"""Socket Mode through slack_sdk's aiohttp client, with every envelope acked the moment it arrives.

slack_sdk does the connection work: apps.connections.open for a URL, reconnecting on any `disconnect`
notice (warning, refresh_requested, link_disabled) and on a dead or stale socket (no pong within four ping
intervals), and sleeping out a `ratelimited` apps.connections.open. What it does not do is stop on a
token that Slack no longer accepts: it would retry forever. `SocketClient` turns that into one report.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from hermes.platforms.slack.web import CREDENTIAL_ERRORS, error_code

log = logging.getLogger(__name__)


class SocketClient(SocketModeClient):
    def __init__(self, *args: Any, on_refused: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_refused = on_refused

    # slack_sdk leaves connect and close unannotated; typed here so the rest of the adapter stays checked.
    async def open(self) -> None:
        await self.connect()  # type: ignore[no-untyped-call]

    async def shut(self) -> None:
        """slack_sdk closes the socket while its own reader still waits on it, and aiohttp then waits out
        its 10 s close timeout: the reader and the monitor are stopped first, so the close is immediate."""
        self.closed = True
        self.auto_reconnect_enabled = False
        tasks = [
            t for t in (self.message_receiver, self.current_session_monitor, self.message_processor) if t
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.close()  # type: ignore[no-untyped-call]

    async def issue_new_wss_url(self) -> str:
        try:
            return await super().issue_new_wss_url()
        except SlackApiError as exc:
            code = error_code(exc)
            if code in CREDENTIAL_ERRORS:
                # Marked closed before raising: the client's connect loop then ends instead of retrying.
                self.closed = True
                self.auto_reconnect_enabled = False
                self._on_refused(code)
            raise


async def acknowledge(
    client: AsyncBaseSocketModeClient, request: SocketModeRequest, payload: dict[str, Any] | None
) -> None:
    frame: dict[str, Any] = {"envelope_id": request.envelope_id}
    if payload is not None and request.accepts_response_payload:
        frame["payload"] = payload
    await client.send_socket_mode_response(frame)
