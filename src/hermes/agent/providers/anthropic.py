"""Anthropic Messages with native tool use; the stable system prompt and the conversation tail are cached."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field

from hermes.agent.messages import Message, SystemPrompt
from hermes.agent.providers.base import (
    Finish,
    ProviderConfigError,
    ProviderError,
    ProviderEvent,
    ProviderRequest,
    ProviderSpec,
    SetupQuestion,
    TextChunk,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolSpec,
    UsageUpdate,
    connection_error,
    error_detail,
    is_retryable_status,
    keys_section,
    parse_retry_after,
    redact,
    register_provider,
)
from hermes.config.settings import Env, Secret, Section, Settings


class AnthropicKeys(Section):
    anthropic_api_key: Annotated[
        str | None, Env("ANTHROPIC_API_KEY"), Secret, Field(description="Anthropic key.")
    ] = None


_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}
# An error event inside a 200 stream carries only its type; the status the same error has as a reply.
_STREAM_ERROR_STATUS = {
    "rate_limit_error": 429,
    "overloaded_error": 529,
    "api_error": 500,
    "timeout_error": 504,
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
}
_EPHEMERAL = {"type": "ephemeral"}
_BAD_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


class AnthropicProvider:
    """Also the base of the Bedrock provider: only the client and the labels differ."""

    name = "anthropic"
    label = "Anthropic"

    def __init__(self, client: Any, secrets: Sequence[str | None] = ()) -> None:
        import anthropic
        import httpx2

        self._sdk = anthropic
        self._transport_error = httpx2.TransportError
        self._client = client
        self._secrets = tuple(secrets)

    @classmethod
    def from_settings(cls, settings: Settings) -> AnthropicProvider:
        model = settings.model
        key = model.api_key or settings.section(AnthropicKeys).anthropic_api_key
        if not key:
            raise ProviderConfigError(
                "model.provider is anthropic but no API key is set: set ANTHROPIC_API_KEY or model.api_key"
            )
        # Imported here, not at module level: the SDK costs ~80 MiB and a daemon uses one provider family.
        import anthropic

        client = anthropic.AsyncAnthropic(
            api_key=key,
            base_url=model.base_url or "https://api.anthropic.com",
            timeout=model.request_timeout_seconds,
            max_retries=0,
        )
        return cls(client, (key,))

    async def close(self) -> None:
        await self._client.close()

    async def check(self) -> str:
        try:
            page = await self._client.models.list()
        except self._sdk.APIStatusError as exc:
            raise self._status_error(exc) from None
        except self._sdk.APIConnectionError as exc:
            detail = redact(str(exc.__cause__ or exc), self._secrets) or type(exc).__name__
            raise connection_error(self.label, False, detail) from None
        return f"{self.label} answered with {len(page.data)} model(s)"

    def arguments(self, request: ProviderRequest) -> dict[str, Any]:
        """Arguments for `messages.create`. The bulky parts, already in wire shape, travel in `extra_body`:
        the client's own pass over typed parameters costs tens of ms on a long history."""
        bulk: dict[str, Any] = {
            "system": to_anthropic_system(request.system),
            "messages": to_anthropic_messages(request.messages, tool_blocks=bool(request.tools)),
        }
        if request.tools:
            bulk["tools"] = to_anthropic_tools(request.tools)
        return {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [],
            "stream": True,
            "extra_body": bulk,
        }

    async def stream(self, request: ProviderRequest) -> AsyncIterator[ProviderEvent]:
        tool_blocks: dict[int, int] = {}
        stop_reason: str | None = None
        finished = False
        started = False
        try:
            response = await self._client.messages.create(**self.arguments(request))
            started = True
            async for event in response:
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        if delta.text:
                            yield TextChunk(delta.text)
                    elif delta.type == "input_json_delta":
                        index = tool_blocks.get(event.index)
                        if index is not None and delta.partial_json:
                            yield ToolCallDelta(index, delta.partial_json)
                elif kind == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        index = len(tool_blocks)
                        tool_blocks[event.index] = index
                        yield ToolCallStart(index, block.id, block.name)
                    elif block.type == "text" and block.text:
                        yield TextChunk(block.text)
                elif kind == "content_block_stop":
                    if event.index in tool_blocks:
                        yield ToolCallEnd(tool_blocks[event.index])
                elif kind == "message_start":
                    usage = event.message.usage
                    yield UsageUpdate(_prompt_tokens(usage), usage.output_tokens or 0)
                elif kind == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    usage = event.usage
                    if usage is not None:
                        yield UsageUpdate(_prompt_tokens(usage), usage.output_tokens or 0)
                elif kind == "message_stop":
                    finished = True
        except self._sdk.APIStatusError as exc:
            raise self._status_error(exc) from None
        except self._sdk.APITimeoutError:
            raise ProviderError(f"{self.label} did not answer in time", retryable=True) from None
        except (self._sdk.APIConnectionError, self._transport_error) as exc:
            # Unlike openai's, this client lets transport errors inside a stream through unwrapped.
            cause = exc.__cause__ or exc.__context__ or exc
            detail = redact(str(cause), self._secrets) or type(cause).__name__
            raise connection_error(self.label, started, detail) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProviderError(
                f"{self.label} sent a malformed stream event ({type(exc).__name__})"
            ) from None
        if not finished:
            raise ProviderError(f"the reply from {self.label} was cut off mid-stream", retryable=True)
        yield Finish(_STOP_REASONS.get(stop_reason or "end_turn", stop_reason or "stop"))

    def _status_error(self, exc: Any) -> ProviderError:
        detail = redact(error_detail(exc.body, exc.message), self._secrets)
        status = exc.status_code
        if status < 400:
            error_type = _error_type(exc.body)
            status = _STREAM_ERROR_STATUS.get(error_type, 500)
            return ProviderError(
                f"{self.label} reported an error mid-stream ({error_type or 'unknown'}): {detail}",
                status=status,
                retryable=is_retryable_status(status),
            )
        return ProviderError(
            f"{self.label} returned HTTP {status}: {detail}",
            status=status,
            retryable=is_retryable_status(status),
            retry_after=parse_retry_after(exc.response.headers),
        )


def _error_type(body: object) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(kind := inner.get("type"), str):
            return kind
    return ""


def _prompt_tokens(usage: Any) -> int:
    """Everything read as input, cached or not: what the context window holds."""
    total = getattr(usage, "input_tokens", 0) or 0
    total += getattr(usage, "cache_read_input_tokens", 0) or 0
    total += getattr(usage, "cache_creation_input_tokens", 0) or 0
    return total


def to_anthropic_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools]


def to_anthropic_system(system: SystemPrompt) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": system.stable, "cache_control": _EPHEMERAL}]
    if system.volatile:
        blocks.append({"type": "text", "text": system.volatile})
    return blocks


@lru_cache(maxsize=4096)
def _tool_input(arguments: str) -> Any:
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_id(call_id: str | None) -> str:
    return _BAD_ID_CHARS.sub("_", call_id or "") or "call"


def to_anthropic_messages(messages: Sequence[Message], *, tool_blocks: bool = True) -> list[dict[str, Any]]:
    """Alternating user/assistant turns: tool results and user text that follow each other share a turn.

    Without `tool_blocks` (no tools offered: the API then refuses tool blocks), past calls become text.
    """
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in messages:
        if m.role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            for call in m.tool_calls:
                if not tool_blocks:
                    blocks.append({"type": "text", "text": f"[called {call.name} with {call.arguments}]"})
                    continue
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": _tool_id(call.id),
                        "name": call.name,
                        "input": _tool_input(call.arguments),
                    }
                )
            add("assistant", blocks)
        elif m.role == "tool" and not tool_blocks:
            add(
                "user",
                [{"type": "text", "text": f"[{m.name or 'tool'} returned: {m.content or '(no output)'}]"}],
            )
        elif m.role == "tool":
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": _tool_id(m.tool_call_id),
                "content": m.content or "(no output)",
            }
            if m.is_error:
                result["is_error"] = True
            add("user", [result])
        else:
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            for image in m.images:
                data = base64.b64encode(image.data).decode("ascii")
                blocks.append(
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": image.mime_type, "data": data},
                    }
                )
            add("user", blocks)
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "(conversation continues)"}]})
    # The rolling breakpoint: the next request reuses everything up to here.
    out[-1]["content"][-1]["cache_control"] = _EPHEMERAL
    return out


register_provider(
    ProviderSpec(
        "anthropic",
        "Anthropic",
        "Claude, with a key from console.anthropic.com",
        AnthropicProvider.from_settings,
        sections=(keys_section(AnthropicKeys, "ANTHROPIC_"),),
        key_setting="provider_keys.anthropic_api_key",
        questions=(
            SetupQuestion(
                "provider_keys.anthropic_api_key",
                "Anthropic API key",
                "--api-key",
                "The API key",
                secret=True,
            ),
        ),
        menu_order=20,
    )
)
