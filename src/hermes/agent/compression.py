"""Context compression: when a conversation nears the context window, the provider summarises its middle.

The first `keep_first` and last `keep_last` messages stay as they are; the cut points move so that a tool
call is never separated from its result. The summary is stored on the session and the original messages
stay in state.db, where session_search finds them. The summary is written by `auxiliary.compression`'s model
when one is set, else by the model of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hermes.agent.auxiliary import AuxiliaryModel
from hermes.agent.contract import Usage
from hermes.agent.messages import Message, SystemPrompt
from hermes.agent.providers.base import (
    ProviderError,
    ProviderRequest,
    TextChunk,
    ToolSpec,
    UsageUpdate,
)
from hermes.agent.providers.retry import RetryPolicy, stream_with_retries
from hermes.agent.sessions import Conversation, ConversationStore, head_boundary
from hermes.config.settings import CompressionSettings

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
_MAX_SUMMARY_TOKENS = 2048
_MESSAGE_CHARS = 4000
_TOOL_RESULT_CHARS = 1500
_INSTRUCTIONS = (
    "You compress conversations. The user gives you the middle part of a long conversation between a user "
    "and an AI assistant (with its tool calls), and possibly an earlier summary. Write one summary that "
    "replaces both: the facts learned about the user and the task, decisions made, results obtained (names, "
    "numbers, paths, links), questions still open and promises made. Use compact notes in the conversation's "
    "language; no preamble."
)


def tail_start(messages: Sequence[Message], head_len: int, keep_last: int) -> int | None:
    """Where the kept tail begins, moved back onto the assistant message whose tool results it would start
    with; None when fewer than two messages would be summarised."""
    start = max(head_len, len(messages) - keep_last)
    while start > head_len and messages[start].role == "tool":
        start -= 1
    return start if start - head_len >= 2 else None


def render_for_summary(previous: str | None, messages: Sequence[Message], budget_chars: int) -> str:
    lines: list[str] = []
    for m in messages:
        if m.role == "tool":
            lines.append(f"TOOL RESULT ({m.name or 'tool'}): {_cut(m.content or '', _TOOL_RESULT_CHARS)}")
            continue
        if m.content:
            lines.append(f"{m.role.upper()}: {_cut(m.content, _MESSAGE_CHARS)}")
        lines.extend(f"ASSISTANT CALLED {c.name}({_cut(c.arguments, 500)})" for c in m.tool_calls)
    text = "\n\n".join(lines)
    if len(text) > budget_chars:
        text = "[…the start is omitted…]\n" + text[-budget_chars:]
    head = f"EARLIER SUMMARY:\n{previous}\n\n" if previous else ""
    return f"{head}CONVERSATION TO SUMMARISE:\n{text}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class Compressor:
    def __init__(
        self,
        summariser: AuxiliaryModel,
        policy: RetryPolicy,
        conversations: ConversationStore,
        settings: CompressionSettings,
        context_length: int,
    ) -> None:
        """`context_length` is the window of the model the conversation runs on; the summariser's own
        window bounds what it is given to read."""
        self._summariser = summariser
        self._policy = policy
        self._conversations = conversations
        self._settings = settings
        self._context_length = context_length

    def estimated_tokens(
        self, conversation: Conversation, system: SystemPrompt, tools: Sequence[ToolSpec]
    ) -> int:
        tool_chars = sum(len(t.name) + len(t.description) + 200 for t in tools)
        chars = conversation.chars + len(system.stable) + len(system.volatile) + tool_chars
        return max(chars // CHARS_PER_TOKEN, conversation.last_prompt_tokens)

    def needed(self, conversation: Conversation, system: SystemPrompt, tools: Sequence[ToolSpec]) -> bool:
        if not self._settings.enabled:
            return False
        if conversation.chars < conversation.compress_after_chars:
            return False
        budget = self._settings.threshold * self._context_length
        return self.estimated_tokens(conversation, system, tools) > budget

    async def maybe_compress(
        self, conversation: Conversation, system: SystemPrompt, tools: Sequence[ToolSpec], model: str
    ) -> Usage:
        """Compress when over the threshold; a failed summary is logged and the run goes on uncompressed."""
        if not self.needed(conversation, system, tools):
            return Usage()
        if conversation.summary is None:
            # The head grows with the first messages; once a summary follows it, it is fixed.
            conversation.head_len = head_boundary(conversation.messages, self._settings.keep_first)
        start = tail_start(conversation.messages, conversation.head_len, self._settings.keep_last)
        if start is None:
            return Usage()
        middle = conversation.messages[conversation.head_len : start]
        budget = int(min(self._context_length, self._summariser.context_length) * CHARS_PER_TOKEN * 0.6)
        text = render_for_summary(conversation.summary, middle, budget)
        # Whatever happens, do not try again on every turn: wait until the context has grown a little.
        conversation.compress_after_chars = conversation.chars + self._context_length * CHARS_PER_TOKEN // 20
        try:
            summary, usage = await self._summarise(text, model)
        except ProviderError as error:
            log.warning("could not compress session %s: %s", conversation.session_id, error.message)
            return Usage()
        if not summary.strip():
            log.warning("could not compress session %s: the summary came back empty", conversation.session_id)
            return usage
        await self._conversations.save_summary(conversation, start, summary.strip())
        conversation.compress_after_chars = conversation.chars + self._context_length * CHARS_PER_TOKEN // 20
        log.info(
            "compressed session %s: %d messages summarised in %d chars",
            conversation.session_id,
            len(middle),
            len(summary),
        )
        return usage

    async def _summarise(self, text: str, model: str) -> tuple[str, Usage]:
        request = ProviderRequest(
            model=self._summariser.model or model,
            system=SystemPrompt(_INSTRUCTIONS),
            messages=[Message("user", text)],
            max_tokens=_MAX_SUMMARY_TOKENS,
        )
        parts: list[str] = []
        prompt = completion = 0
        async for event in stream_with_retries(self._summariser.provider, request, self._policy):
            if isinstance(event, TextChunk):
                parts.append(event.text)
            elif isinstance(event, UsageUpdate):
                prompt = event.prompt_tokens or prompt
                completion = event.completion_tokens or completion
        return "".join(parts), Usage(prompt, completion)
