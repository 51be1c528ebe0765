"""The tool-calling loop: context -> provider -> tool calls -> tools -> ... -> final answer.

Events go out through `emit` as they happen (text deltas, tool started/finished); the loop returns the
run's one terminal event. Each model turn's messages are written to the transcript as soon as the turn and
its tools are done; a cancelled turn writes what the user already saw and answers its open tool calls.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hermes.agent.compression import Compressor
from hermes.agent.contract import AgentEvent, Failed, Final, TextDelta, ToolFinished, ToolStarted, Usage
from hermes.agent.messages import Message, SystemPrompt, ToolCall, parse_arguments
from hermes.agent.providers.base import (
    Finish,
    Provider,
    ProviderError,
    ProviderRequest,
    TextChunk,
    ToolCallDelta,
    ToolCallStart,
    ToolSpec,
    UsageUpdate,
)
from hermes.agent.providers.retry import RetryPolicy, stream_with_retries
from hermes.agent.sessions import Conversation, ConversationStore
from hermes.agent.tools.base import Tool, ToolArgumentError, ToolContext, ToolResult

log = logging.getLogger(__name__)

Emit = Callable[[AgentEvent], None]

# A tool's output beyond this is cut before it reaches the model (and the transcript).
MAX_TOOL_OUTPUT = 50_000
_SUMMARY_CHARS = 200
_TURN_SEPARATOR = "\n\n"


@dataclass
class _PendingCall:
    id: str
    name: str
    parts: list[str] = field(default_factory=list)


@dataclass
class _Turn:
    text: list[str] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish: str | None = None


@dataclass(frozen=True)
class LoopSettings:
    max_turns: int
    tool_timeout: float
    max_tokens: int


class AgentLoop:
    def __init__(
        self,
        provider: Provider,
        policy: RetryPolicy,
        conversations: ConversationStore,
        compressor: Compressor,
        settings: LoopSettings,
    ) -> None:
        self.provider = provider
        self.policy = policy
        self.conversations = conversations
        self.compressor = compressor
        self.settings = settings

    async def run(
        self,
        conversation: Conversation,
        system: SystemPrompt,
        tools: Sequence[Tool],
        ctx: ToolContext,
        model: str,
        emit: Emit,
    ) -> Final | Failed:
        by_name = {tool.name: tool for tool in tools}
        specs = [ToolSpec(t.name, t.description, t.parameters) for t in tools]
        run_text: list[str] = []
        usage = Usage()
        # Tokens spent on summaries are booked on the next stored assistant message.
        unbooked = Usage()
        for _ in range(self.settings.max_turns):
            unbooked += await self.compressor.maybe_compress(conversation, system, specs, model)
            request = ProviderRequest(model, system, conversation.context(), specs, self.settings.max_tokens)
            turn = _Turn()
            try:
                await self._stream_turn(request, turn, run_text, emit)
            except ProviderError as error:
                await self._save_partial(conversation, turn, model)
                return Failed(error.message, status=error.status)
            except asyncio.CancelledError:
                await self._save_partial(conversation, turn, model)
                raise
            spent = unbooked + Usage(turn.prompt_tokens, turn.completion_tokens)
            unbooked = Usage()
            usage += spent
            if turn.prompt_tokens:
                conversation.last_prompt_tokens = turn.prompt_tokens
            text = "".join(turn.text)
            calls, problems = _assemble_calls(turn.calls)
            assistant = Message("assistant", text or None, tuple(calls))
            if not calls:
                if text:
                    await self.conversations.append(
                        conversation, [assistant], model=model, usage=_pair(spent)
                    )
                answer = "".join(run_text)
                if not answer.strip():
                    return Failed("The model returned an empty reply.")
                return Final(answer, model, usage)
            try:
                results = await asyncio.gather(
                    *(self._run_tool(call, problems.get(call.id), by_name, ctx, emit) for call in calls)
                )
            except asyncio.CancelledError:
                await self._save_cancelled_calls(conversation, assistant, calls, model, spent)
                raise
            await self.conversations.append(
                conversation, [assistant, *results], model=model, usage=_pair(spent)
            )
        return Failed(
            f"Stopped after {self.settings.max_turns} model turns without a final answer (agent.max_turns)."
        )

    async def _stream_turn(
        self, request: ProviderRequest, turn: _Turn, run_text: list[str], emit: Emit
    ) -> None:
        async for event in stream_with_retries(self.provider, request, self.policy):
            if isinstance(event, TextChunk):
                if not turn.text and run_text:
                    run_text.append(_TURN_SEPARATOR)
                    emit(TextDelta(_TURN_SEPARATOR))
                turn.text.append(event.text)
                run_text.append(event.text)
                emit(TextDelta(event.text))
            elif isinstance(event, ToolCallDelta):
                pending = turn.calls.get(event.index)
                if pending is not None:
                    pending.parts.append(event.arguments)
            elif isinstance(event, ToolCallStart):
                turn.calls[event.index] = _PendingCall(event.id, event.name)
            elif isinstance(event, UsageUpdate):
                turn.prompt_tokens = event.prompt_tokens or turn.prompt_tokens
                turn.completion_tokens = event.completion_tokens or turn.completion_tokens
            elif isinstance(event, Finish):
                turn.finish = event.reason

    async def _run_tool(
        self, call: ToolCall, problem: str | None, tools: dict[str, Tool], ctx: ToolContext, emit: Emit
    ) -> Message:
        tool = tools.get(call.name)
        args = {} if problem else parse_arguments(call.arguments)
        emit(ToolStarted(call.id, call.name, args))
        if problem:
            result = ToolResult.error(
                f"your arguments for {call.name} were not usable: {problem}. Call the tool again with a JSON "
                "object that matches its schema."
            )
        elif tool is None:
            known = ", ".join(sorted(tools)) or "none"
            result = ToolResult.error(f"there is no tool named {call.name!r}. Available tools: {known}.")
        else:
            if getattr(tool, "reads_untrusted", False):
                ctx.read_untrusted = True
            result = await self._call(tool, args, ctx)
        content = result.content
        if len(content) > MAX_TOOL_OUTPUT:
            content = content[:MAX_TOOL_OUTPUT] + f"\n[output cut: {len(result.content)} chars in all]"
        summary = (result.summary or content).strip().split("\n", 1)[0][:_SUMMARY_CHARS]
        emit(ToolFinished(call.id, call.name, result.ok, summary))
        return Message("tool", content, (), call.id, call.name, not result.ok)

    async def _call(self, tool: Tool, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        timeout = self.settings.tool_timeout
        try:
            async with asyncio.timeout(timeout):
                return await tool(args, ctx)
        except TimeoutError:
            return ToolResult.error(f"the tool did not finish within {timeout:g}s and was stopped")
        except ToolArgumentError as exc:
            return ToolResult.error(str(exc))
        except Exception as exc:
            log.exception("tool %s failed", tool.name)
            return ToolResult.error(f"the tool failed: {type(exc).__name__}: {exc}")

    async def _save_partial(self, conversation: Conversation, turn: _Turn, model: str) -> None:
        """Keep the text the user already saw of a turn that did not complete (tool calls are dropped)."""
        text = "".join(turn.text)
        if text.strip():
            await self.conversations.append(
                conversation, [Message("assistant", text + " [interrupted]")], model=model
            )

    async def _save_cancelled_calls(
        self, conversation: Conversation, assistant: Message, calls: list[ToolCall], model: str, spent: Usage
    ) -> None:
        results = [
            Message("tool", "Error: cancelled by the user before the tool finished.", (), c.id, c.name, True)
            for c in calls
        ]
        await self.conversations.append(conversation, [assistant, *results], model=model, usage=_pair(spent))


def _pair(usage: Usage) -> tuple[int, int]:
    return usage.prompt_tokens, usage.completion_tokens


def _assemble_calls(pending: dict[int, _PendingCall]) -> tuple[list[ToolCall], dict[str, str]]:
    """The turn's tool calls with unique ids; calls whose arguments do not parse get `{}` and a problem note,
    so the transcript never holds arguments a provider would refuse to read back."""
    calls: list[ToolCall] = []
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for index in sorted(pending):
        item = pending[index]
        call_id = item.id if item.id and item.id not in seen else f"call_{secrets.token_hex(6)}"
        seen.add(call_id)
        arguments = "".join(item.parts)
        try:
            parse_arguments(arguments)
        except ValueError as exc:
            problems[call_id] = f"{exc}; you sent: {arguments[:300]!r}"
            arguments = "{}"
        calls.append(ToolCall(call_id, item.name, arguments or "{}"))
    return calls, problems
