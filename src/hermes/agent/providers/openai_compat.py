"""OpenAI chat completions, the wire shared by every provider that speaks it: each is a `Family` (its
endpoint, its key setting, its quirks) declared and registered in its own module (`openai.py`,
`openrouter.py`, `custom.py`).

A family serving any endpoint (`custom`: Ollama, vLLM, llama.cpp, LiteLLM) gets `/v1` appended to the
base URL when it is missing, and needs no key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from hermes.agent.messages import Message, SystemPrompt
from hermes.agent.providers.base import (
    Finish,
    ProviderConfigError,
    ProviderError,
    ProviderEvent,
    ProviderFactory,
    ProviderRequest,
    TextChunk,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolSpec,
    UsageUpdate,
    error_detail,
    redact,
)
from hermes.agent.providers.openai_http import OpenAIHttp
from hermes.config.settings import Settings

# Tool schemas kept encoded; past this many distinct ones (MCP servers coming and going) the cache restarts.
_TOOL_CACHE_LIMIT = 512


@dataclass(frozen=True)
class Family:
    name: str
    label: str
    # None: the operator names the endpoint (`model.base_url`), and `/v1` is added when missing.
    default_base_url: str | None
    # The family's own key setting, and its environment name for the error; None: no key is needed.
    key: Callable[[Settings], str | None] | None = None
    key_env: str | None = None
    # OpenAI itself wants the newer name for the output cap; compatible servers know the older one.
    max_tokens_field: str = "max_tokens"
    headers: Mapping[str, str] | None = None


def with_v1(base_url: str) -> str:
    """`http://host:11434` -> `http://host:11434/v1`; a URL already ending in `/v1` is kept."""
    trimmed = base_url.rstrip("/")
    return trimmed if trimmed.endswith("/v1") else f"{trimmed}/v1"


class OpenAICompatProvider:
    def __init__(self, settings: Settings, family: Family) -> None:
        model = settings.model
        self.name = family.name
        self._family = family
        key = model.api_key or (family.key(settings) if family.key else None)
        if family.key_env and not key:
            raise ProviderConfigError(
                f"model.provider is {family.name} but no API key is set: "
                f"set {family.key_env} or model.api_key"
            )
        base_url = model.base_url or family.default_base_url
        if base_url is None:
            raise ProviderConfigError(
                f"model.provider is {family.name} but model.base_url is not set "
                "(e.g. http://127.0.0.1:11434 for Ollama)"
            )
        if family.default_base_url is None:
            base_url = with_v1(base_url)
        self._secrets = (key,)
        self._http = OpenAIHttp(
            base_url,
            key,
            label=family.label,
            timeout=model.request_timeout_seconds,
            headers=dict(family.headers) if family.headers else None,
        )
        self._tool_json: dict[tuple[str, str, int], tuple[dict[str, Any], str]] = {}

    async def close(self) -> None:
        await self._http.close()

    async def check(self) -> str:
        page = await self._http.get_json("models")
        models = page.get("data") if isinstance(page, dict) else None
        if not isinstance(models, list):
            raise ProviderError(f"{self._family.label} answered the models list with an unexpected body")
        return f"{self._family.label} answered with {len(models)} model(s)"

    def body(self, request: ProviderRequest) -> bytes:
        """The request body as sent. The tool schemas (a dozen or more, the same every turn) are encoded
        once: encoding them took a twentieth of the gateway's time per API request."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": to_openai_messages(request.system, request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            self._family.max_tokens_field: request.max_tokens,
        }
        text = json.dumps(body)
        if request.tools:
            tools = ",".join(self._encoded_tool(tool) for tool in request.tools)
            text = f'{text[:-1]},"tools":[{tools}]}}'
        return text.encode()

    def _encoded_tool(self, tool: ToolSpec) -> str:
        # The schema object is part of the key and the cache holds on to it, so its id cannot be reused
        # meanwhile; tools build their schema once and never change it.
        key = (tool.name, tool.description, id(tool.parameters))
        cached = self._tool_json.get(key)
        if cached is not None and cached[0] is tool.parameters:
            return cached[1]
        if len(self._tool_json) >= _TOOL_CACHE_LIMIT:
            self._tool_json.clear()
        encoded = json.dumps(to_openai_tool(tool))
        self._tool_json[key] = (tool.parameters, encoded)
        return encoded

    async def stream(self, request: ProviderRequest) -> AsyncIterator[ProviderEvent]:
        calls = _CallIndex()
        finish: str | None = None
        try:
            # Closed at once when a chunk is refused, so the connection is not held until garbage collection.
            async with aclosing(self._http.stream("chat/completions", self.body(request))) as stream:
                async for data in stream:
                    chunk = json.loads(data)
                    if not isinstance(chunk, dict):
                        raise TypeError("stream chunk is not a JSON object")
                    error = chunk.get("error")
                    if error:
                        raise self._chunk_error(error)
                    usage = chunk.get("usage")
                    if usage:
                        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
                        yield UsageUpdate(prompt or 0, completion or 0)
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta")
                        if delta:
                            if delta.get("content"):
                                yield TextChunk(delta["content"])
                            for call in delta.get("tool_calls") or ():
                                for event in calls.feed(call):
                                    yield event
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
        except (json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ProviderError(
                f"{self._family.label} sent a malformed stream chunk ({type(exc).__name__})"
            ) from None
        if finish is None:
            raise ProviderError(f"the reply from {self._family.label} was cut off mid-stream", retryable=True)
        for index in calls.indexes():
            yield ToolCallEnd(index)
        yield Finish(finish)

    def _chunk_error(self, error: Any) -> ProviderError:
        body = error if isinstance(error, dict) else {"message": str(error)}
        detail = redact(error_detail({"error": body}, "an error occurred during streaming"), self._secrets)
        kind = f"{body.get('type') or ''} {body.get('code') or ''}".lower()
        retryable = any(word in kind for word in ("server", "rate", "overload", "timeout"))
        return ProviderError(
            f"{self._family.label} reported an error mid-stream: {detail}", retryable=retryable
        )


class _CallIndex:
    """Maps the API's tool-call indexes to ours; a new id at a used index is a new call (some servers
    reuse index 0)."""

    def __init__(self) -> None:
        self._ids: dict[int, tuple[int, str]] = {}
        self._order: list[int] = []

    def feed(self, call: dict[str, Any]) -> list[ProviderEvent]:
        index = call.get("index")
        api_index = index if isinstance(index, int) else len(self._ids)
        function = call.get("function") or {}
        call_id_sent = call.get("id")
        known = self._ids.get(api_index)
        events: list[ProviderEvent] = []
        if known is None or (call_id_sent and call_id_sent != known[1]):
            ours = len(self._order)
            call_id = call_id_sent or f"call_{ours}"
            self._ids[api_index] = (ours, call_id)
            self._order.append(ours)
            events.append(ToolCallStart(ours, call_id, function.get("name") or ""))
            known = self._ids[api_index]
        if function.get("arguments"):
            events.append(ToolCallDelta(known[0], function["arguments"]))
        return events

    def indexes(self) -> list[int]:
        return self._order


def to_openai_tool(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def to_openai_messages(system: SystemPrompt, messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system.text}]
    append = out.append
    for m in messages:
        role = m.role
        if role == "tool":
            append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content or ""})
        elif role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.tool_calls:
                item["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in m.tool_calls
                ]
            elif m.content is None:
                item["content"] = ""
            append(item)
        elif m.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": m.content or ""}]
            for image in m.images:
                url = f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"
                parts.append({"type": "image_url", "image_url": {"url": url}})
            append({"role": role, "content": parts})
        else:
            append({"role": role, "content": m.content or ""})
    return out


def factory(family: Family) -> ProviderFactory:
    def create(settings: Settings) -> OpenAICompatProvider:
        return OpenAICompatProvider(settings, family)

    return create
