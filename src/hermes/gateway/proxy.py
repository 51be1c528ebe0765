"""Proxy mode: the agent is a remote Hermes API server (`GATEWAY_PROXY_URL`, `GATEWAY_PROXY_KEY`).

`ProxyAgent` is an `AgentPort`, so the hub and the platforms work unchanged. Each run is one streamed
`POST /v1/chat/completions` carrying a remote session id as `X-Hermes-Session-Id`: the remote keeps the
transcript, memory and tools. The id is the local session key with the local session's id after it, so
`/new` (which ends the local session) starts a new conversation over there too; the local session row holds
nothing else but the model chosen with `/model`, sent as the request's `model` (one of the names the
remote's `GET /v1/models` lists). Tool progress the remote reports (`event: hermes.tool.progress`) comes
back as ToolStarted/ToolFinished. Approval questions are answered on the remote side; they are not relayed.

When the remote is down or refuses the key, the user gets one short message and the operator one log line.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from hermes.agent.contract import (
    AgentEvent,
    ChatMessage,
    Failed,
    Final,
    GatewayServices,
    ImageInput,
    RunRequest,
    TextDelta,
    ToolFinished,
    ToolStarted,
    Usage,
)
from hermes.config.settings import Settings
from hermes.sse import server_sent_events
from hermes.store.sessions import Sessions

log = logging.getLogger(__name__)

MODEL = "hermes-agent"
SESSION_HEADER = "X-Hermes-Session-Id"
TOOL_PROGRESS_EVENT = "hermes.tool.progress"
# The API server's rule for session ids; a local key outside it is sent as a digest instead.
_SESSION_ID = re.compile(r"[A-Za-z0-9._:@!$+=/#~-]{1,256}")
_CONNECT_TIMEOUT = 10.0

UNREACHABLE = "The agent is unreachable right now; please try again in a moment."
REFUSED = "The agent refused this gateway's key; the operator has to fix GATEWAY_PROXY_KEY."
BUSY = "The agent is busy right now; please try again in a moment."
BROKEN = "The connection to the agent broke off before the answer was complete."
CANCELLED = "The run was cancelled."
FAILED = "Something went wrong while talking to the agent; the error was logged."


def remote_session_id(session_key: str) -> str:
    if _SESSION_ID.fullmatch(session_key):
        return session_key
    return "sha256-" + hashlib.sha256(session_key.encode()).hexdigest()


def completions_url(base: str) -> URL:
    return api_url(base, "chat/completions")


def api_url(base: str, endpoint: str) -> URL:
    url = URL(base.rstrip("/"))
    prefix = url.path.rstrip("/")
    path = f"{prefix}/{endpoint}" if prefix.endswith("/v1") else f"{prefix}/v1/{endpoint}"
    return url.with_path(path)


def session_url(base: str, remote_id: str) -> URL:
    """The remote's `GET /api/sessions/{id}`: at the server's root, beside `/v1`."""
    url = URL(base.rstrip("/"))
    prefix = url.path.rstrip("/")
    prefix = prefix.removesuffix("/v1")
    return url.with_path(f"{prefix}/api/sessions/{quote(remote_id, safe='')}", encoded=True)


@dataclass(frozen=True)
class RemoteUsage:
    """What the remote agent counts for one conversation."""

    message_count: int
    input_tokens: int
    output_tokens: int


class RemoteUnavailable(Exception):
    """The remote agent could not answer a question about itself (unreachable, or refused us)."""


class ProxyAgent:
    def __init__(self, settings: Settings, sessions: Sessions) -> None:
        gateway = settings.gateway
        if not gateway.proxy_url:
            raise ValueError("ProxyAgent needs gateway.proxy_url")
        self.sessions = sessions
        self.url = completions_url(gateway.proxy_url)
        self.models_url = api_url(gateway.proxy_url, "models")
        self._base = gateway.proxy_url
        # For log lines: where the remote is, without any credentials a URL might carry.
        self.where = str(self.url.origin())
        self._headers = {"Authorization": f"Bearer {gateway.proxy_key}"} if gateway.proxy_key else {}
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=_CONNECT_TIMEOUT, sock_read=settings.model.request_timeout_seconds
        )
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def models(self) -> list[str]:
        """The model names the remote agent answers to (its `GET /v1/models`)."""
        listing = await self._get_object(self.models_url)
        if listing is None:
            raise RemoteUnavailable("HTTP 404")
        data = listing.get("data")
        cards = data if isinstance(data, list) else []
        return [str(card["id"]) for card in cards if isinstance(card, dict) and card.get("id")]

    async def usage(self, session_key: str, session_id: str) -> RemoteUsage | None:
        """The remote's counts for the conversation of the local session `session_id` under `session_key`;
        None when it holds none yet. RemoteUnavailable when it cannot be asked."""
        answer = await self._get_object(
            session_url(self._base, remote_session_id(f"{session_key}#{session_id}"))
        )
        if answer is None:
            return None
        session = answer.get("session")
        if not isinstance(session, dict):
            raise RemoteUnavailable("its answer held no session")
        return RemoteUsage(
            _count(session.get("message_count")),
            _count(session.get("input_tokens")),
            _count(session.get("output_tokens")),
        )

    async def _get_object(self, url: URL) -> dict[str, Any] | None:
        """The JSON object the remote answers a GET with (empty when it answered something else); None for a
        404; RemoteUnavailable when it cannot be reached or refuses us."""
        try:
            async with self._http.get(url, headers=self._headers) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise RemoteUnavailable(f"HTTP {response.status}")
                return _json_object((await response.read()).decode("utf-8", "replace")) or {}
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("proxy: cannot reach the agent at %s: %s", self.where, _describe(exc))
            raise RemoteUnavailable(_describe(exc)) from exc

    async def run(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices | None = None
    ) -> AsyncIterator[AgentEvent]:
        """Streams the remote run; cancelling closes the connection, which cancels the run over there."""
        if cancel.is_set():
            yield Failed(CANCELLED, cancelled=True)
            return
        # None marks the end of the exchange.
        queue: asyncio.Queue[AgentEvent | None] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(request, queue.put_nowait))
        watcher = asyncio.create_task(cancel.wait())
        watcher.add_done_callback(lambda _: producer.cancel() if cancel.is_set() else None)
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            watcher.cancel()
            producer.cancel()

    async def _produce(self, request: RunRequest, emit: Callable[[AgentEvent | None], None]) -> None:
        try:
            try:
                result: Final | Failed = await self._exchange(request, emit)
            except asyncio.CancelledError:
                result = Failed(CANCELLED, cancelled=True)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("proxy: cannot reach the agent at %s: %s", self.where, _describe(exc))
                result = Failed(UNREACHABLE)
            except Exception:
                log.exception("proxy: the exchange with %s failed", self.where)
                result = Failed(FAILED)
            emit(result)
        finally:
            emit(None)

    async def _exchange(
        self, request: RunRequest, emit: Callable[[AgentEvent | None], None]
    ) -> Final | Failed:
        headers = dict(self._headers)
        chat_id = request.origin.chat_id if request.origin is not None else request.session_key
        session = await self.sessions.get_or_create(
            request.session_key, platform=request.platform, chat_id=chat_id
        )
        headers[SESSION_HEADER] = remote_session_id(f"{request.session_key}#{session.id}")
        model = request.model_override or session.model_override or MODEL
        body = {
            "model": model,
            "messages": to_messages(request),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with self._http.post(self.url, json=body, headers=headers) as response:
            if response.status != 200:
                return await self._refused(response)
            return await self._read_stream(response, emit)

    async def _refused(self, response: aiohttp.ClientResponse) -> Failed:
        status = response.status
        error = _error_of(await response.read())
        detail = str(error.get("message") or response.reason or "")
        if status in (401, 403):
            log.error(
                "proxy: the agent at %s refused GATEWAY_PROXY_KEY (HTTP %d): set it to that server's "
                "API_SERVER_KEY",
                self.where,
                status,
            )
            return Failed(REFUSED, status=status)
        if status == 429:
            log.warning("proxy: the agent at %s is busy (HTTP 429): %s", self.where, detail)
            return Failed(BUSY, status=429)
        provider_status = error.get("provider_status")
        log.warning("proxy: the agent at %s answered HTTP %d: %s", self.where, status, detail)
        if status == 502 and detail:
            # The remote agent's own failure message, written to be shown to users.
            return Failed(detail, status=provider_status if isinstance(provider_status, int) else None)
        return Failed(f"The agent could not answer (HTTP {status}).", status=status)

    async def _read_stream(
        self, response: aiohttp.ClientResponse, emit: Callable[[AgentEvent | None], None]
    ) -> Final | Failed:
        text: list[str] = []
        usage = Usage()
        model = MODEL
        async for event in server_sent_events(response.content.iter_any()):
            if event.data == "[DONE]":
                return Final("".join(text), model, usage)
            chunk = _json_object(event.data)
            if chunk is None:
                continue
            if isinstance(chunk.get("error"), dict):
                error = chunk["error"]
                status = error.get("provider_status")
                log.warning("proxy: the agent at %s failed mid-answer: %s", self.where, error.get("message"))
                return Failed(
                    str(error.get("message") or BROKEN), status=status if isinstance(status, int) else None
                )
            if event.name == TOOL_PROGRESS_EVENT:
                progress = _tool_event(chunk)
                if progress is not None:
                    emit(progress)
                continue
            model = str(chunk.get("model") or model)
            if isinstance(chunk.get("usage"), dict):
                usage = _usage(chunk["usage"])
            delta = _delta_text(chunk)
            if delta:
                text.append(delta)
                emit(TextDelta(delta))
        log.warning("proxy: the stream from %s ended without its end marker", self.where)
        return Failed(BROKEN)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def to_messages(request: RunRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.extra_system:
        messages.append({"role": "system", "content": request.extra_system})
    # A new session's opening history: the remote opens the session with it, and ignores it when it holds
    # the session's transcript already (API-CONTRACT: only the body's last message is new then).
    for message in request.seed:
        messages.append(_wire(message))
    text = request.text if request.text.strip() else ""
    if request.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        parts.extend({"type": "image_url", "image_url": {"url": _data_url(i)}} for i in request.images)
        messages.append({"role": "user", "content": parts})
    else:
        messages.append({"role": "user", "content": text or "(empty message)"})
    return messages


def _wire(message: ChatMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
        parts.extend({"type": "image_url", "image_url": {"url": _data_url(i)}} for i in message.images)
        wire["content"] = parts
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {"name": call.get("name"), "arguments": call.get("arguments", "")},
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    return wire


def _data_url(image: ImageInput) -> str:
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode()}"


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error_of(body: bytes) -> dict[str, Any]:
    value = _json_object(body.decode("utf-8", "replace"))
    error = value.get("error") if value is not None else None
    return error if isinstance(error, dict) else {}


def _delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _usage(data: dict[str, Any]) -> Usage:
    prompt, completion = data.get("prompt_tokens"), data.get("completion_tokens")
    return Usage(prompt if isinstance(prompt, int) else 0, completion if isinstance(completion, int) else 0)


def _tool_event(progress: dict[str, Any]) -> ToolStarted | ToolFinished | None:
    """A `hermes.tool.progress` record: `tool`, `toolCallId`, `status` running|completed (API-CONTRACT
    §6.4, so a remote server of the reference system works too)."""
    name, call_id = str(progress.get("tool") or "tool"), str(progress.get("toolCallId") or "")
    if progress.get("status") == "running":
        return ToolStarted(call_id, name, {})
    if progress.get("status") == "completed":
        return ToolFinished(
            call_id, name, progress.get("ok") is not False, str(progress.get("summary") or "")
        )
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
