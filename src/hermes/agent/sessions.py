"""Conversations: the transcript of a session as the model sees it, kept in memory and written through to
state.db.

A conversation is `head + [summary] + the rest`: after compression the summarised middle is gone from the
context (it stays in state.db for search). The cache of loaded conversations is bounded; a conversation is
checked against the store at every turn (same session, same message count, same summary), so commands that
change the transcript behind the agent's back (/new, /undo) are noticed without a message from the hub.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hermes.agent.contract import ChatMessage, RunRequest
from hermes.agent.messages import Message, ToolCall, close_dangling_calls
from hermes.store import Message as StoredMessage
from hermes.store import NewMessage, Opening, Store, new_session_id
from hermes.store import Session as StoredSession

SUMMARY_HEADER = (
    "[Summary of the earlier part of this conversation, written when it grew long. The original messages "
    "are still searchable with session_search.]\n"
)
# Extra rows read past `keep_first` when reloading a summarised session, to find the head's end.
_HEAD_SLACK = 16


def head_boundary(messages: Sequence[Message], keep_first: int) -> int:
    """How many leading messages form the protected head: `keep_first`, extended so that a tool call in it
    keeps its results."""
    end = min(keep_first, len(messages))
    while end < len(messages) and messages[end].role == "tool":
        end += 1
    return end


@dataclass(eq=False)
class Conversation:
    key: str
    # None for an agent without a store: nothing is read from or written to it.
    session_id: str | None
    messages: list[Message]
    head_len: int
    summary: str | None = None
    summary_upto: int | None = None
    model_override: str | None = None
    stored_count: int = 0
    # The session's title; "" once one was asked for in this process, so it is asked for once.
    title: str | None = None
    # The prompt size the provider last reported; 0 when unknown or stale (after compression).
    last_prompt_tokens: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    chars: int = 0
    # No compression is tried again until the context holds this many chars (after a try that left it long).
    compress_after_chars: int = 0
    # The rows of the context's last messages, not yet in the store (a run that stores at its end).
    unsaved: list[NewMessage] = field(default_factory=list)
    # The session's row, when it is still to be written with the first messages.
    opening: Opening | None = None
    store_at_end: bool = False

    def __post_init__(self) -> None:
        self.chars = sum(m.chars() for m in self.messages) + len(self.summary or "")

    def context(self) -> list[Message]:
        """What the model is sent: the head, the summary if any, the rest; every tool call answered."""
        if self.summary is None:
            return close_dangling_calls(self.messages)
        summary = Message("user", SUMMARY_HEADER + self.summary)
        return close_dangling_calls(
            [*self.messages[: self.head_len], summary, *self.messages[self.head_len :]]
        )

    def add_local(self, messages: Sequence[Message]) -> None:
        self.messages.extend(messages)
        self.chars += sum(m.chars() for m in messages)

    def question_from(self, event_id: str) -> Message | None:
        """The user message stored for a chat event, if a run for it already began (then crashed)."""
        for message in reversed(self.messages):
            if message.role == "user" and message.event_id == event_id:
                return message
        return None

    def replace_last(self, old: Message, new: Message) -> None:
        """Swap a message already in the context for another (the images of a past turn are dropped)."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index] is old:
                self.messages[index] = new
                self.chars += new.chars() - old.chars()
                return

    def compact(self, tail_start: int, summary: str, upto: int | None) -> None:
        self.messages = [*self.messages[: self.head_len], *self.messages[tail_start:]]
        self.summary = summary
        self.summary_upto = upto
        self.last_prompt_tokens = 0
        self.chars = sum(m.chars() for m in self.messages) + len(summary)


def to_new_message(
    message: Message, model: str | None = None, usage: tuple[int, int] | None = None
) -> NewMessage:
    metadata: dict[str, Any] = {}
    if message.is_error:
        metadata["error"] = True
    if message.images:
        metadata["images"] = [image.mime_type for image in message.images]
    if message.event_id:
        metadata["event"] = message.event_id
    return NewMessage(
        role=message.role,
        content=message.content,
        tool_calls=[call.to_json() for call in message.tool_calls] or None,
        tool_call_id=message.tool_call_id,
        name=message.name,
        model=model,
        prompt_tokens=usage[0] if usage else None,
        completion_tokens=usage[1] if usage else None,
        metadata=metadata or None,
    )


def with_image_note(content: str | None, count: int) -> str:
    """A past message's images are not sent again; the model is told there were some."""
    note = f"[{count} image(s) were attached]"
    return f"{content}\n{note}" if content else note


def from_stored(row: StoredMessage) -> Message:
    metadata = row.metadata if isinstance(row.metadata, dict) else {}
    calls = tuple(ToolCall.from_json(call) for call in row.tool_calls or () if isinstance(call, dict))
    images = metadata.get("images")
    return Message(
        role=row.role,
        content=with_image_note(row.content, len(images))
        if isinstance(images, list) and images
        else row.content,
        tool_calls=calls,
        tool_call_id=row.tool_call_id,
        name=row.name,
        is_error=bool(metadata.get("error")),
        id=row.id,
        event_id=metadata.get("event") if isinstance(metadata.get("event"), str) else None,
    )


def from_chat_message(message: ChatMessage) -> Message:
    return Message(
        role=message.role,
        content=message.content,
        tool_calls=tuple(ToolCall.from_json(call) for call in message.tool_calls),
        tool_call_id=message.tool_call_id,
        images=message.images,
    )


class ConversationStore:
    """Loads conversations from state.db, keeps the recently used ones, and writes new messages through."""

    def __init__(self, store: Store | None, *, keep_first: int, max_cached: int = 128) -> None:
        self._store = store
        self._keep_first = keep_first
        self._max_cached = max_cached
        self._cache: OrderedDict[str, Conversation] = OrderedDict()

    @property
    def store(self) -> Store | None:
        return self._store

    def cached(self, key: str) -> Conversation | None:
        return self._cache.get(key)

    def forget(self, key: str) -> None:
        self._cache.pop(key, None)

    def unstored(self, request: RunRequest) -> Conversation:
        """A conversation of one run that nothing is read from or written to (an agent without a store)."""
        return Conversation(request.session_key, None, [], 0)

    async def open(self, request: RunRequest) -> Conversation:
        """The conversation of the open session for the request's key, opening a session if there is none."""
        if self._store is None:
            raise RuntimeError("a stored conversation needs a state store")
        chat_id = request.origin.chat_id if request.origin is not None else request.session_key
        if request.new_session:
            session_id = new_session_id()
            opening = Opening(session_id, request.session_key, request.platform, chat_id)
            new = Conversation(request.session_key, session_id, [], 0, opening=opening)
            self._remember(new)
            return new
        session = await self._store.sessions.get_or_create(
            request.session_key, platform=request.platform, chat_id=chat_id
        )
        conversation = self._cache.get(request.session_key)
        if conversation is not None and _still_current(conversation, session):
            conversation.model_override = session.model_override
            self._cache.move_to_end(request.session_key)
            return conversation
        conversation = await self._load(session)
        self._remember(conversation)
        return conversation

    def _remember(self, conversation: Conversation) -> None:
        self._cache[conversation.key] = conversation
        self._cache.move_to_end(conversation.key)
        while len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)

    async def _load(self, session: StoredSession) -> Conversation:
        assert self._store is not None
        sessions = self._store.sessions
        if session.message_count == 0:
            # A new session (every API exchange opens one): nothing to read, so no round trip.
            messages, head_len = [], 0
        elif session.summary is None or session.summary_upto_message_id is None:
            messages = [from_stored(row) for row in await sessions.messages(session.id)]
            head_len = head_boundary(messages, self._keep_first)
        else:
            upto = session.summary_upto_message_id
            first = await sessions.messages(session.id, limit=self._keep_first + _HEAD_SLACK)
            head = [from_stored(row) for row in first if row.id <= upto]
            head_len = head_boundary(head, self._keep_first)
            rest = await sessions.messages(session.id, after_id=upto)
            messages = head[:head_len] + [from_stored(row) for row in rest]
        return Conversation(
            key=session.key,
            session_id=session.id,
            messages=messages,
            head_len=head_len,
            summary=session.summary,
            summary_upto=session.summary_upto_message_id,
            model_override=session.model_override,
            stored_count=session.message_count,
            title=session.title,
        )

    async def append(
        self,
        conversation: Conversation,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        usage: tuple[int, int] | None = None,
    ) -> list[Message]:
        """Add messages to the context and, for a stored session, to state.db (usage goes on the first);
        a conversation that stores at its end keeps them until `flush`."""
        if not messages:
            return []
        if conversation.session_id is None or self._store is None:
            conversation.add_local(messages)
            return list(messages)
        rows = [
            to_new_message(m, model if m.role == "assistant" else None, usage if i == 0 else None)
            for i, m in enumerate(messages)
        ]
        conversation.add_local(messages)
        conversation.unsaved.extend(rows)
        if not conversation.store_at_end:
            await self.flush(conversation)
        return conversation.messages[len(conversation.messages) - len(messages) :]

    async def flush(self, conversation: Conversation) -> None:
        """Store what the conversation holds unsaved, in one transaction with its session's opening. When
        that fails the conversation is dropped from the cache, so the next run reloads what was stored.

        The unsaved messages are the context's last ones (compression flushes before it cuts), possibly
        swapped in place for a lighter copy (`replace_last`): they get their ids by position."""
        if self._store is None or conversation.session_id is None:
            return
        if not conversation.unsaved and conversation.opening is None:
            return
        unsaved, conversation.unsaved = conversation.unsaved, []
        try:
            stored = await self._store.sessions.append(
                conversation.session_id, unsaved, opening=conversation.opening
            )
        except BaseException:
            self.forget(conversation.key)
            raise
        conversation.opening = None
        start = len(conversation.messages) - len(stored)
        for index, row in enumerate(stored, start):
            conversation.messages[index] = dataclasses.replace(conversation.messages[index], id=row.id)
        conversation.stored_count += len(stored)

    async def save_summary(self, conversation: Conversation, tail_start: int, summary: str) -> None:
        # The summary points at a stored message id: what is unsaved is stored first.
        await self.flush(conversation)
        upto = conversation.messages[tail_start - 1].id
        if conversation.session_id is not None and self._store is not None and upto is not None:
            await self._store.sessions.set_summary(conversation.session_id, summary, upto)
        conversation.compact(tail_start, summary, upto)


def _still_current(conversation: Conversation, session: StoredSession) -> bool:
    return (
        conversation.session_id == session.id
        and conversation.stored_count == session.message_count
        and conversation.summary_upto == session.summary_upto_message_id
    )
