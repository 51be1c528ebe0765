"""The fake LLM server: an in-process aiohttp app answering each request with the next scripted turn."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import BodyPartReader, web

from .answers import estimate_tokens, resolve
from .anthropic_wire import AnthropicWire
from .control import add_control_routes
from .openai_wire import OpenAIWire
from .playback import Playback, format_seconds, wait_unless
from .recording import Api, RecordedRequest, Recorder, UploadedFile
from .turns import (
    AudioTurn,
    ChatTurn,
    Cut,
    Echo,
    Error,
    Malformed,
    ReplyTurn,
    Stall,
    Transcription,
    Turn,
)
from .wire import Answer, Context, Wire

Fallback = ChatTurn | Callable[[RecordedRequest], ChatTurn] | None

_ECHO = Echo()


class FakeLLM:
    """A scripted OpenAI + Anthropic compatible model server on 127.0.0.1.

    `async with FakeLLM() as llm:` then point clients at it:
    `openai.AsyncOpenAI(base_url=llm.base_url, api_key="k")` and
    `anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="k")` (no `/v1`: the client adds it).

    `llm.script(...)` queues turns; each chat request consumes the next one, or gets `fallback` when none is
    left (`Echo()` by default, a fixed turn, a function of the request, or None to answer 400 "no scripted
    turn left"). Requests the API would reject (malformed bodies, broken tool-call ordering, ...) get the real
    400 without consuming a turn unless `validate=False`. `instant` drops every latency (`delay`,
    `chunk_delay`) and streams text in one piece; failure turns still fail.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fallback: Fallback = _ECHO,
        instant: bool = False,
        record: bool = True,
        validate: bool = True,
        api_key: str | None = None,
        models: Sequence[str] = ("fake-model",),
    ) -> None:
        self.host = host
        self.port = port
        self.fallback = fallback
        self.instant = instant
        self.validate = validate
        self.api_key = api_key
        self.models = list(models)
        self._recorder = Recorder(keep=record)
        self._chat: deque[ChatTurn] = deque()
        self._audio: deque[AudioTurn] = deque()
        self._seq = itertools.count(1)
        self._closing = asyncio.Event()
        self._openai = OpenAIWire()
        self._anthropic = AnthropicWire()
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_post("/v1/chat/completions", self._openai_chat)
        self.app.router.add_post("/v1/messages", self._anthropic_messages)
        self.app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        self.app.router.add_post("/v1/audio/transcriptions", self._transcription)
        self.app.router.add_get("/v1/models", self._models)
        self.app.router.add_get("/v1/models/{model}", self._model)
        add_control_routes(self.app, self)
        self.app.router.add_route("*", "/{tail:.*}", self._unknown)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._closing.clear()
        # handler_cancellation: a client that gives up on a stalled stream ends its handler at once.
        self._runner = web.AppRunner(
            self.app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For the openai client (and any OpenAI-compatible `custom` provider)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For the anthropic client, which appends `/v1/messages` itself."""
        return self.url

    # -- scripting and inspection ---------------------------------------------------------------------------

    def script(self, *turns: Turn) -> None:
        """Queues turns; `Transcription` turns go to the audio queue, all others to the chat queue."""
        for turn in turns:
            if isinstance(turn, Transcription):
                self._audio.append(turn)
            else:
                self._chat.append(turn)

    def script_audio(self, *turns: AudioTurn) -> None:
        """Queues answers for `/v1/audio/transcriptions` only (use this to make a transcription fail)."""
        self._audio.extend(turns)

    @property
    def pending(self) -> int:
        """Chat turns scripted but not consumed yet."""
        return len(self._chat)

    @property
    def pending_audio(self) -> int:
        return len(self._audio)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._recorder.requests

    @property
    def request_count(self) -> int:
        """Every request received, counted even when not recording."""
        return self._recorder.count

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Requests to the chat endpoints of both APIs, leaving out model listings and the like."""
        return [r for r in self.requests if r.path in ("/v1/chat/completions", "/v1/messages")]

    async def wait_for_requests(
        self, count: int, *, path: str | None = None, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Waits until `count` requests (to `path`, if given) have arrived, and returns them."""
        return await self._recorder.wait_for(count, path, timeout)

    def reset(self) -> None:
        """Forgets the script and the recorded requests."""
        self._chat.clear()
        self._audio.clear()
        self._recorder.clear()

    # -- API handlers ----------------------------------------------------------------------------------------

    async def _openai_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._chat_turn(request, self._openai)

    async def _anthropic_messages(self, request: web.Request) -> web.StreamResponse:
        return await self._chat_turn(request, self._anthropic)

    async def _chat_turn(self, request: web.Request, wire: Wire) -> web.StreamResponse:
        raw = await request.read()
        body = _parse_json(raw)
        recorded = self._record(request, wire.api, raw, body)
        seq = next(self._seq)
        model = body.get("model") if isinstance(body, dict) else None
        stream_options = body.get("stream_options") if isinstance(body, dict) else None
        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        prefix = "chatcmpl-" if wire.api == "openai" else "msg_"
        ctx = Context(f"{prefix}fake{seq:06d}", str(model or "fake-model"), int(time.time()), include_usage)
        play = Playback(request, wire, ctx, self._closing, self.instant)
        if not self._authorized(request, wire):
            return play.error(401, None)
        if self.validate and (problem := wire.validate(body, request.headers)):
            return play.error(400, problem)
        turn = self._next_chat_turn(recorded, request, wire.api, raw, body)
        if turn is None:
            message = f"fake LLM: no scripted turn left for request #{self.request_count} and no fallback"
            return play.error(400, message)
        if not self.instant and await play.wait(turn.delay):
            play.abort()
            return web.Response(status=503)
        stream = isinstance(body, dict) and body.get("stream") is True

        def answer(reply: ReplyTurn) -> Answer:
            return resolve(reply, body, len(raw), wire.call_id_prefix, seq, stream, self.instant)

        match turn:
            case Error():
                return await play.error_turn(turn, stream)
            case Malformed():
                return await play.malformed(turn, answer(turn.reply), stream)
            case Cut():
                return await play.cut(turn, answer(turn.reply), stream)
            case Stall():
                return await play.stall(turn, answer(turn.reply), stream)
            case _:
                return await play.answer(answer(turn), stream, turn.chunk_delay)

    async def _count_tokens(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self._record(request, "anthropic", raw, _parse_json(raw))
        if not self._authorized(request, self._anthropic):
            return _json(self._anthropic.error_body(401, None, None, None), 401)
        return _json({"input_tokens": estimate_tokens(len(raw))})

    async def _transcription(self, request: web.Request) -> web.Response:
        form = await _read_form(request)
        self._record(request, "openai", b"", None, form or {})
        wire = self._openai
        if not self._authorized(request, wire):
            return _json(wire.error_body(401, None, None, None), 401)
        if form is None:
            return _json(wire.error_body(400, "Could not parse multipart form", None, None), 400)
        upload = form.get("file")
        if not isinstance(upload, UploadedFile) or not form.get("model"):
            missing = "file" if not isinstance(upload, UploadedFile) else "model"
            return _json(wire.error_body(400, f"Missing required parameter: '{missing}'.", None, None), 400)
        turn: AudioTurn = self._audio.popleft() if self._audio else Transcription(_heard(upload.data))
        if not self.instant:
            await wait_unless(self._closing, turn.delay)
        if isinstance(turn, Error):
            headers = {} if turn.retry_after is None else {"Retry-After": format_seconds(turn.retry_after)}
            body = wire.error_body(turn.status, turn.message, turn.error_type, turn.code)
            return _json(body, turn.status, headers)
        response_format = form.get("response_format", "json")
        if response_format in ("text", "srt", "vtt"):
            return web.Response(text=turn.text, content_type="text/plain")
        if response_format == "verbose_json":
            return _json({"task": "transcribe", "language": "english", "duration": 0.0, "text": turn.text})
        return _json({"text": turn.text})

    async def _models(self, request: web.Request) -> web.Response:
        api = _api_of(request)
        self._record(request, api, b"", None)
        wire = self._anthropic if api == "anthropic" else self._openai
        if not self._authorized(request, wire):
            return _json(wire.error_body(401, None, None, None), 401)
        if api == "anthropic":
            data = [_anthropic_model(m) for m in self.models]
            first, last = (self.models[0], self.models[-1]) if self.models else (None, None)
            return _json({"data": data, "has_more": False, "first_id": first, "last_id": last})
        return _json({"object": "list", "data": [_openai_model(m) for m in self.models]})

    async def _model(self, request: web.Request) -> web.Response:
        api = _api_of(request)
        self._record(request, api, b"", None)
        wire = self._anthropic if api == "anthropic" else self._openai
        model = request.match_info["model"]
        if not self._authorized(request, wire):
            return _json(wire.error_body(401, None, None, None), 401)
        if model not in self.models:
            return _json(
                wire.error_body(404, f"The model '{model}' does not exist", None, "model_not_found"), 404
            )
        return _json(_anthropic_model(model) if api == "anthropic" else _openai_model(model))

    async def _unknown(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self._record(request, "other", raw, _parse_json(raw))
        message = f"Invalid URL ({request.method} {request.path})"
        return _json(self._openai.error_body(404, message, "invalid_request_error", None), 404)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _record(
        self,
        request: web.Request,
        api: Api,
        raw: bytes,
        body: Any,
        form: dict[str, str | UploadedFile] | None = None,
    ) -> RecordedRequest | None:
        recorded = _recorded(request, api, raw, body, form) if self._recorder.keep else None
        self._recorder.add(recorded)
        return recorded

    def _authorized(self, request: web.Request, wire: Wire) -> bool:
        if self.api_key is None:
            return True
        sent = request.headers.get("x-api-key") if wire.api == "anthropic" else None
        if sent is None:
            sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return sent == self.api_key

    def _next_chat_turn(
        self, recorded: RecordedRequest | None, request: web.Request, api: Api, raw: bytes, body: Any
    ) -> ChatTurn | None:
        if self._chat:
            return self._chat.popleft()
        if callable(self.fallback):
            return self.fallback(recorded or _recorded(request, api, raw, body, None))
        return self.fallback


def _recorded(
    request: web.Request, api: Api, raw: bytes, body: Any, form: dict[str, str | UploadedFile] | None
) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.path,
        api=api,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query),
        body=body,
        raw=raw,
        form=form or {},
    )


async def _read_form(request: web.Request) -> dict[str, str | UploadedFile] | None:
    """The fields of a multipart body (empty for any other body); None when it cannot be parsed."""
    form: dict[str, str | UploadedFile] = {}
    if not request.content_type.startswith("multipart/"):
        return form
    try:
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            data = bytes(await part.read())
            if part.filename is None:
                form[part.name] = data.decode("utf-8", "replace")
            else:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                form[part.name] = UploadedFile(part.filename, content_type, data)
    except ValueError:
        return None
    return form


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _heard(audio: bytes) -> str:
    # Tests upload text as "audio" and get it back, so voice flows need no script.
    try:
        return audio.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(audio)} bytes of audio]"


def _api_of(request: web.Request) -> Api:
    return "anthropic" if "anthropic-version" in request.headers else "openai"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", headers=headers
    )


def _openai_model(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "fake-llm"}


def _anthropic_model(model: str) -> dict[str, Any]:
    return {"type": "model", "id": model, "display_name": model, "created_at": "2025-01-01T00:00:00Z"}
