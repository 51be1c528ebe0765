"""ReplyStream: one run's events into one chat, on a platform that edits and on one that cannot."""

from __future__ import annotations

import asyncio

from hermes.agent.contract import Failed, Final, TextDelta, ToolFinished, ToolStarted, Usage
from hermes.gateway.delivery import STOPPED_MARK, EditThrottle, ReplyStream
from hermes.platforms.base import ChatRef
from hermes.testing import TestPlatform

CHAT = ChatRef("test", "room", "group")


class Recorded:
    def __init__(self) -> None:
        self.chunks: list[tuple[int, str]] = []

    async def __call__(self, chunk: int, message_id: str) -> None:
        self.chunks.append((chunk, message_id))


def stream(
    platform: TestPlatform,
    *,
    existing: dict[int, str] | None = None,
    tool_progress: bool = False,
    throttle: EditThrottle | None = None,
) -> tuple[ReplyStream, Recorded]:
    recorded = Recorded()
    reply = ReplyStream(
        platform,
        CHAT,
        "ev1",
        recorded,
        existing=existing or {},
        tool_progress=tool_progress,
        throttle=throttle or EditThrottle(),
    )
    return reply, recorded


def final(text: str = "") -> Final:
    return Final(text, "model", Usage())


async def test_streams_by_editing_one_message_then_writes_the_final_text() -> None:
    platform = TestPlatform()
    reply, recorded = stream(platform, throttle=EditThrottle(min_interval=0.0))
    for word in ("Hello", " there", ", friend"):
        await reply.on_event(TextDelta(word))
        await asyncio.sleep(0)
    ids = await reply.finish(final("Hello there, friend."))
    [message] = platform.messages
    assert message.text == "Hello there, friend." and message.edits[-1] == "Hello there, friend."
    assert message.idempotency_key == "ev1:0" and ids == [message.message_id]
    assert recorded.chunks == [(0, message.message_id)]


async def test_without_edits_only_the_final_text_is_sent_split_at_the_limit() -> None:
    platform = TestPlatform(can_edit=False, max_message_chars=100)
    reply, recorded = stream(platform)
    text = "word " * 50
    await reply.on_event(TextDelta(text))
    assert platform.messages == []
    ids = await reply.finish(final(text))
    assert [m.idempotency_key for m in platform.messages] == ["ev1:0", "ev1:1", "ev1:2"]
    assert all(len(m.text) <= 100 for m in platform.messages)
    assert ids == [m.message_id for m in platform.messages] and [c for c, _ in recorded.chunks] == [0, 1, 2]


async def test_a_rerun_after_a_crash_edits_the_chunks_already_sent() -> None:
    platform = TestPlatform(max_message_chars=100)
    first, _ = stream(platform)
    await first.finish(final("x" * 150))
    sent = {index: m.message_id for index, m in enumerate(platform.messages)}
    again, recorded = stream(platform, existing=sent)
    await again.finish(final("y" * 150))
    assert len(platform.messages) == 2 and [m.text[0] for m in platform.messages] == ["y", "y"]
    assert recorded.chunks == []


async def test_a_stopped_reply_keeps_its_text_and_says_so_and_an_empty_one_sends_nothing() -> None:
    platform = TestPlatform()
    reply, _ = stream(platform)
    await reply.on_event(TextDelta("half an answer"))
    await reply.finish(Failed("stopped", cancelled=True))
    assert platform.messages[0].text == "half an answer" + STOPPED_MARK
    silent = TestPlatform()
    quiet, _ = stream(silent)
    assert await quiet.finish(Failed("stopped", cancelled=True)) == []
    assert silent.messages == []


async def test_a_failure_is_shown_after_what_was_said() -> None:
    platform = TestPlatform(can_edit=False)
    reply, _ = stream(platform)
    await reply.on_event(TextDelta("Let me check"))
    await reply.finish(Failed("the model is unavailable"))
    assert platform.messages[0].text == "Let me check\n\n⚠️ the model is unavailable"
    empty = TestPlatform(can_edit=False)
    nothing, _ = stream(empty)
    await nothing.finish(final(""))
    assert empty.messages[0].text == "(no reply)"


async def test_tool_progress_is_one_edited_message_and_failures_only() -> None:
    platform = TestPlatform()
    reply, _ = stream(platform, tool_progress=True)
    await reply.on_event(ToolStarted("c1", "web_search", {}))
    await reply.on_event(ToolFinished("c1", "web_search", True, "ok"))
    await reply.on_event(ToolStarted("c2", "terminal", {}))
    await reply.on_event(ToolFinished("c2", "terminal", False, "exit 1"))
    [progress] = platform.messages
    assert progress.idempotency_key == "ev1:tool:1"
    assert progress.text == "🔧 web_search\n🔧 terminal\n⚠️ terminal failed"


async def test_edits_are_capped_by_the_throttle() -> None:
    platform = TestPlatform()
    reply, _ = stream(platform, throttle=EditThrottle(min_interval=0.0, max_edits=2))
    for index in range(10):
        await reply.on_event(TextDelta(f" w{index}"))
        await asyncio.sleep(0.01)
    await reply.finish(final())
    [message] = platform.messages
    # The first send counts as one of the two; then one throttled edit, then the final text.
    assert len(message.edits) == 2 and message.text.endswith("w9")
