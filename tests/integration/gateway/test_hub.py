"""The hub end to end through the real agent and the fake LLM, with the in-memory test platform."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import pytest

from hermes.agent.contract import Origin
from hermes.agent.local import LocalAgent
from hermes.config import load_config
from hermes.gateway.delivery import STOPPED_MARK
from hermes.gateway.hub import INTERRUPT_ACK, Hub
from hermes.platforms.base import AccessList, Attachment
from hermes.store import InboxEvent
from hermes.testing import TestPlatform
from tests.fakes.llm import Echo, Stall, Text

from .conftest import Rig


def user_texts(rig: Rig, request_index: int = -1) -> list[str]:
    """The user messages the model saw in one request."""
    body = rig.llm.requests[request_index].body
    return [
        m["content"] if isinstance(m["content"], str) else str(m["content"])
        for m in body["messages"]
        if m["role"] == "user"
    ]


async def test_dm_is_answered(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("hello there")
    assert await rig.reply_texts(1) == ["hello there"]
    await rig.settled()
    event = await rig.store.inbox.get("test", "ev1")
    assert event is not None and event.status == "done"
    assert list(event.reply_ids) == [rig.platform.messages[0].message_id]


async def test_duplicate_event_is_answered_once(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("once", event_id="dup")
    await rig.platform.push("once", event_id="dup")
    await rig.settled()
    assert len(rig.platform.messages) == 1
    assert len(rig.llm.requests) == 1


async def test_old_messages_are_recorded_not_answered(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("from last week", sent_at=time.time() - 7 * 24 * 3600)
    await rig.settled()
    assert rig.platform.messages == []
    event = await rig.store.inbox.get("test", "ev1")
    assert event is not None and event.status == "skipped"


async def test_unaddressed_group_message_is_ignored(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("chatter", chat="room", kind="group", addressed=False)
    await rig.platform.push("@bot hi", chat="room", kind="group", addressed=True)
    assert await rig.reply_texts(1) == ["@bot hi"]
    await rig.settled()
    assert len(rig.llm.requests) == 1


async def test_denied_dm_hears_its_id_once_an_hour_and_groups_stay_silent(make_rig) -> None:
    rig: Rig = await make_rig(platform=TestPlatform(access=AccessList(frozenset({"@ok:x"}))))
    await rig.platform.push("let me in", user="@stranger:x")
    await rig.platform.push("please", user="@stranger:x")
    await rig.platform.push("hi all", user="@stranger:x", chat="room", kind="group")
    await rig.settled()
    assert len(rig.platform.messages) == 1
    assert "@stranger:x" in rig.platform.messages[0].text
    assert rig.llm.requests == []


async def test_gateway_allowlist_applies_to_every_platform(make_rig) -> None:
    rig: Rig = await make_rig(
        platform=TestPlatform(access=AccessList()), gateway_access=AccessList(frozenset({"@boss:x"}))
    )
    await rig.platform.push("hi", user="@boss:x")
    assert await rig.reply_texts(1) == ["hi"]


async def test_separate_sessions_per_user_in_a_group(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("I am alice", user="@alice", chat="room", kind="group")
    await rig.reply_texts(1)
    await rig.platform.push("I am bob", user="@bob", chat="room", kind="group")
    await rig.reply_texts(2)
    assert user_texts(rig, -1) == ["I am bob"]


async def test_shared_group_session_when_configured(make_rig) -> None:
    rig: Rig = await make_rig(config={"group_sessions_per_user": False})
    await rig.platform.push("I am alice", user="@alice", chat="room", kind="group")
    await rig.reply_texts(1)
    await rig.platform.push("I am bob", user="@bob", chat="room", kind="group")
    await rig.reply_texts(2)
    assert user_texts(rig, -1) == ["I am alice", "I am bob"]


@pytest.mark.parametrize("prefix", ["/", "!"])
async def test_help_with_either_prefix(make_rig, prefix: str) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push(f"{prefix}help")
    (text,) = await rig.reply_texts(1)
    for name in ("/new", "/stop", "/status", "/sethome", "/model", "/whoami", "/usage", "/retry", "/undo"):
        assert name in text
    assert rig.llm.requests == []


async def test_unknown_command_goes_to_the_agent(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("/frobnicate now")
    assert await rig.reply_texts(1) == ["/frobnicate now"]


async def test_whoami(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("/whoami", user="@carol:example.org")
    (text,) = await rig.reply_texts(1)
    assert "@carol:example.org" in text


async def test_new_starts_a_fresh_session(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("remember pineapple")
    await rig.reply_texts(1)
    await rig.platform.push("/new")
    await rig.reply_texts(2)
    await rig.platform.push("what did I say?")
    await rig.reply_texts(3)
    assert user_texts(rig, -1) == ["what did I say?"]


async def test_model_override_is_per_session(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("/model other-model")
    assert "other-model" in (await rig.reply_texts(1))[0]
    await rig.platform.push("hi")
    await rig.reply_texts(2)
    assert rig.llm.requests[-1].body["model"] == "other-model"
    await rig.platform.push("hi", user="@bob")
    await rig.reply_texts(3)
    assert rig.llm.requests[-1].body["model"] == "fake-model"
    await rig.platform.push("/model default")
    await rig.reply_texts(4)
    await rig.platform.push("again")
    await rig.reply_texts(5)
    assert rig.llm.requests[-1].body["model"] == "fake-model"


async def test_status_and_usage(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("count my tokens")
    await rig.reply_texts(1)
    await rig.settled()
    await rig.platform.push("/usage")
    usage = (await rig.reply_texts(2))[1]
    assert "tokens" in usage and "2 messages" in usage
    await rig.platform.push("/status")
    status = (await rig.reply_texts(3))[2]
    assert "fake-model" in status and "test:dm:dm-@alice" in status


async def test_sethome_stores_the_home_channel(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("/sethome", chat="ops", kind="group", thread="t1")
    await rig.reply_texts(1)
    home = await rig.store.homes.get("test")
    assert home is not None and (home.chat_id, home.thread_id) == ("ops", "t1")


async def test_undo_forgets_the_last_exchange(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("first")
    await rig.reply_texts(1)
    await rig.platform.push("second")
    await rig.reply_texts(2)
    await rig.platform.push("/undo")
    assert "Forgot" in (await rig.reply_texts(3))[2]
    await rig.platform.push("third")
    await rig.reply_texts(4)
    assert user_texts(rig, -1) == ["first", "third"]


async def test_retry_answers_the_last_question_again(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Text("a weak answer"), Text("a better answer"))
    await rig.platform.push("explain tides")
    await rig.reply_texts(1)
    await rig.platform.push("/retry")
    texts = await rig.reply_texts(2)
    assert texts[1] == "a better answer"
    assert user_texts(rig, -1) == ["explain tides"]


async def test_stop_cancels_the_run(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Stall(seconds=60, reply=Text("never finished words here")))
    await rig.platform.push("think forever")
    await rig.llm.wait_for_requests(1)
    started = time.monotonic()
    await rig.platform.push("/stop")
    await rig.platform.wait_for(lambda: any("Stopped" in m.text for m in rig.platform.messages))
    await rig.settled()
    assert time.monotonic() - started < 2.0
    texts = [m.text for m in rig.platform.messages]
    assert "⏹ Stopped." in texts
    assert not any("never finished" in text for text in texts)
    assert rig.hub.runs_in_flight == 0
    await rig.platform.push("/stop")
    assert (await rig.reply_texts(len(texts) + 1))[-1] == "Nothing is running."


async def test_interrupt_cancels_and_runs_again_with_the_new_input(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Stall(seconds=60, after=1, reply=Text("partial answer that never ends")))
    await rig.platform.push("tell me about cats")
    await rig.llm.wait_for_requests(1)
    await rig.platform.push("actually, dogs")
    await rig.settled()
    texts = [m.text for m in rig.platform.messages]
    assert INTERRUPT_ACK in texts
    assert texts[-1] == "actually, dogs"
    assert user_texts(rig, -1)[-1] == "actually, dogs"


async def test_queue_mode_answers_each_in_order(make_rig) -> None:
    rig: Rig = await make_rig(busy_mode="queue")
    rig.llm.script(Text("one", delay=0.3), Echo(), Echo())
    await rig.platform.push("first")
    await rig.llm.wait_for_requests(1)
    await rig.platform.push("second")
    await rig.platform.push("third")
    await rig.settled()
    assert [m.text for m in rig.platform.messages] == ["one", "second", "third"]


async def test_commands_are_never_queued_behind_a_run(make_rig) -> None:
    rig: Rig = await make_rig(busy_mode="queue")
    rig.llm.script(Stall(seconds=60, after=1))
    await rig.platform.push("slow")
    await rig.llm.wait_for_requests(1)
    await rig.platform.push("/whoami")
    await rig.platform.wait_for(lambda: any("test id" in m.text for m in rig.platform.messages))
    # Answered while the run still stalls: the command did not wait in the session's queue.
    assert rig.hub.runs_in_flight == 1
    await rig.platform.push("/stop")
    await rig.settled()
    assert [m.text for m in rig.platform.messages][-1] == "⏹ Stopped."
    assert rig.hub.runs_in_flight == 0 and len(rig.llm.requests) == 1


async def test_streaming_edits_are_throttled_and_capped(make_rig) -> None:
    rig: Rig = await make_rig(min_edit_interval=0.1, max_edits=3)
    words = " ".join(f"w{i}" for i in range(40))
    rig.llm.script(Text(words, chunk_delay=0.02))
    await rig.platform.push("stream please")
    await rig.settled()
    (message,) = rig.platform.messages
    assert message.text == words
    # Fails without throttling (40 deltas would each edit) or without the final write (no edit at all):
    # at most max_edits throttled updates plus the final one.
    assert 1 <= len(message.edits) <= 4
    assert message.edits[-1] == words


async def test_platform_without_edits_gets_only_the_final_text(make_rig) -> None:
    rig: Rig = await make_rig(platform=TestPlatform(can_edit=False))
    rig.llm.script(Text("several words streamed slowly", chunk_delay=0.01))
    await rig.platform.push("go")
    await rig.settled()
    assert [(m.text, m.edits) for m in rig.platform.messages] == [("several words streamed slowly", [])]


async def test_long_reply_is_split_at_the_platform_limit(make_rig) -> None:
    rig: Rig = await make_rig(platform=TestPlatform(max_message_chars=200))
    long_text = "\n\n".join(f"Paragraph {i} " + "word " * 20 for i in range(6))
    rig.llm.script(Text(long_text))
    await rig.platform.push("write a lot")
    await rig.settled()
    texts = [m.text for m in rig.platform.messages]
    assert len(texts) > 1
    assert all(len(t) <= 200 for t in texts)
    assert texts[-1].endswith(f"({len(texts)}/{len(texts)})")


async def test_bot_messages_are_ignored_unless_allowed(make_rig) -> None:
    rig: Rig = await make_rig()
    await rig.platform.push("beep", user="@otherbot", is_bot=True)
    await rig.settled()
    assert rig.platform.messages == []


async def test_at_most_n_consecutive_replies_to_another_bot(make_rig) -> None:
    rig: Rig = await make_rig(allow_bots=True, max_bot_replies=2)
    for i in range(4):
        await rig.platform.push(f"beep {i}", user="@otherbot", chat="room", kind="group", is_bot=True)
        await rig.settled()
    assert len(rig.platform.messages) == 2
    await rig.platform.push("human here", chat="room", kind="group")
    await rig.settled()
    await rig.platform.push("beep again", user="@otherbot", chat="room", kind="group", is_bot=True)
    await rig.settled()
    assert len(rig.platform.messages) == 4


async def test_unanswered_events_are_resumed_after_a_restart(make_rig) -> None:
    first: Rig = await make_rig()
    # Accepted before a crash, never processed.
    first.hub._processing = False
    await first.platform.push("asked before the crash")
    assert first.platform.messages == []
    restarted = Hub(first.store, first.hub.agent, {"test": first.platform}, first.hub.options, AccessList())
    first.hub = restarted
    assert await restarted.resume_pending("test") == 1
    assert await first.reply_texts(1) == ["asked before the crash"]


async def test_an_event_answered_live_while_the_resume_read_the_inbox_is_answered_once(
    make_rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A platform delivers as soon as it is up, while the hub reads what was left unanswered. With a store
    # slower than SQLite on one host (PostgreSQL), that read listed an event the live run then answered,
    # and the resume answered it again.
    rig: Rig = await make_rig()
    rig.llm.script(Text("once", delay=0.2))
    read_pending = rig.store.inbox.pending

    async def slow_pending(platform: str | None = None) -> list[InboxEvent]:
        events = await read_pending(platform)
        await rig.platform.wait_for_messages(1)
        await rig.settled()
        return events

    monkeypatch.setattr(rig.store.inbox, "pending", slow_pending)
    await rig.platform.push("hello")
    assert await rig.hub.resume_pending("test") == 1
    # Everything the hub started, the resume's handling included, has finished.
    while rig.hub._tasks:
        await asyncio.gather(*rig.hub._tasks)
    assert [m.text for m in rig.platform.messages] == ["once"]
    assert len(rig.llm.chat_requests) == 1


async def test_a_chunk_sent_before_a_crash_is_edited_not_sent_again(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.hub._processing = False
    inbound = await rig.platform.push("hello again")
    ref = await rig.platform.send(inbound.chat, "hel", idempotency_key=f"{inbound.event_id}:0")
    await rig.store.inbox.record_sent("test", inbound.event_id, 0, ref.message_id)
    rig.hub._processing = True
    await rig.hub.resume_pending("test")
    await rig.settled()
    assert [(m.message_id, m.text) for m in rig.platform.messages] == [(ref.message_id, "hello again")]


async def test_approval_answered_by_the_requester(make_rig) -> None:
    rig: Rig = await make_rig()
    inbound = await rig.platform.push("/whoami")
    await rig.settled()
    origin = Origin("test", inbound.chat.chat_id, "dm", None, "@alice", "x")
    services = rig.hub.approvals.services_for(rig.platform)
    asking = asyncio.create_task(services.request_approval(origin, "Run `rm -rf build`?", 5))
    await rig.platform.wait_for(lambda: any("rm -rf build" in m.text for m in rig.platform.messages))
    await rig.platform.push("yes")
    assert await asking is True
    asking = asyncio.create_task(services.request_approval(origin, "Run `ls`?", 5))
    await rig.platform.wait_for(lambda: any("`ls`" in m.text for m in rig.platform.messages))
    await rig.platform.push("no", user="@mallory")
    await rig.platform.push("no")
    assert await asking is False


async def test_approval_times_out_as_a_refusal(make_rig) -> None:
    rig: Rig = await make_rig()
    origin = Origin("test", "dm-@alice", "dm", None, "@alice", "x")
    services = rig.hub.approvals.services_for(rig.platform)
    assert await services.request_approval(origin, "Run it?", 0.2) is False


async def test_send_message_to_the_home_channel(make_rig) -> None:
    rig: Rig = await make_rig()
    services = rig.hub.approvals.services_for(rig.platform)
    with pytest.raises(LookupError, match="no home channel"):
        await services.send_message("home:test", "hello home")
    await rig.platform.push("/sethome", chat="ops", kind="group")
    await rig.settled()
    await services.send_message("home:test", "hello home")
    assert rig.platform.in_chat("ops")[-1].text == "hello home"
    with pytest.raises(LookupError, match="no platform 'nowhere'"):
        await services.send_message("home:nowhere", "x")


async def test_a_failing_send_does_not_stop_other_sessions(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.platform.fail_sends = 1
    await rig.platform.push("this reply fails", user="@a")
    await rig.settled()
    await rig.platform.push("this one works", user="@b")
    assert await rig.reply_texts(1) == ["this one works"]


async def test_stopped_mark_on_a_cancelled_streamed_reply(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Stall(seconds=60, after=2, reply=Text("partial words that hang")))
    await rig.platform.push("go")
    await rig.platform.wait_for_messages(1)
    await rig.platform.push("/stop")
    await rig.settled()
    assert rig.platform.messages[0].text.endswith(STOPPED_MARK)


async def test_an_event_offered_twice_at_once_is_answered_once(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Text("only once", delay=0.2))
    # A platform delivers a new event while a restart's resume reads the same pending event.
    await rig.platform.push("hello during start-up")
    assert await rig.hub.resume_pending("test") == 1
    await rig.settled()
    assert [m.text for m in rig.platform.messages] == ["only once"]
    assert len(rig.llm.requests) == 1


async def test_the_platform_describes_itself_to_the_model(make_rig) -> None:
    platform = TestPlatform()
    platform.prompt_hint = "You are chatting on a test bench; nothing is rendered."  # type: ignore[misc]
    rig: Rig = await make_rig(platform=platform)
    await rig.platform.push("hi")
    await rig.reply_texts(1)
    assert "You are chatting on a test bench; nothing is rendered." in rig.llm.requests[-1].system


async def restart_after_crash(rig: Rig) -> None:
    """The process dies mid-run and starts again: the run is cut, its event stays unanswered in the inbox,
    and a new agent and hub on the same store answer it."""
    await rig.hub.drain(0)
    await rig.hub.agent.close()
    agent = LocalAgent(load_config({"HERMES_HOME": str(rig.home)}), rig.store)
    rig.hub = Hub(rig.store, agent, {"test": rig.platform}, rig.hub.options, AccessList())
    await rig.platform.start(rig.hub)
    assert await rig.hub.resume_pending("test") == 1
    await rig.settled()


async def test_a_run_redone_after_a_crash_stores_the_question_once(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Stall(seconds=60, after=1))
    await rig.platform.push("what is the capital of Peru?", event_id="q1")
    await rig.llm.wait_for_requests(1)
    await restart_after_crash(rig)
    session = await rig.store.sessions.current("test:dm:dm-@alice")
    assert session is not None
    questions = [m for m in await rig.store.sessions.messages(session.id) if m.role == "user"]
    assert [m.content for m in questions] == ["what is the capital of Peru?"]
    assert user_texts(rig, -1) == ["what is the capital of Peru?"]


async def test_a_run_redone_after_a_crash_sends_its_images_again(make_rig, tmp_path: Path) -> None:
    picture = tmp_path / "peru.png"
    picture.write_bytes(b"\x89PNG fake image bytes")
    attachment = Attachment("peru.png", "image/png", str(picture), picture.stat().st_size)
    rig: Rig = await make_rig()
    rig.llm.script(Stall(seconds=60, after=1), Text("That is Machu Picchu."), Text("Yes, in Peru."))
    await rig.platform.push("where is this?", event_id="q1", attachments=[attachment])
    await rig.llm.wait_for_requests(1)
    await restart_after_crash(rig)

    def image_urls(request_index: int) -> list[str]:
        return [
            part["image_url"]["url"]
            for m in rig.llm.requests[request_index].body["messages"]
            if isinstance(m["content"], list)
            for part in m["content"]
            if part.get("type") == "image_url"
        ]

    expected = "data:image/png;base64," + base64.b64encode(picture.read_bytes()).decode()
    assert image_urls(0) == image_urls(1) == [expected]
    # Afterwards the image rides no more: the next turn is told there was one.
    await rig.platform.push("in Peru?", event_id="q2")
    await rig.settled()
    assert image_urls(2) == []
    assert any("[1 image(s) were attached]" in text for text in user_texts(rig, 2))


async def test_a_catch_up_backlog_is_one_input_without_interrupt(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Echo(delay=0.3))
    async with rig.platform.backlog():
        await rig.platform.push("are you there?")
        await rig.platform.push("I need the report by noon")
    await rig.settled()
    texts = [m.text for m in rig.platform.messages]
    assert INTERRUPT_ACK not in texts
    assert len(rig.llm.requests) == 1
    assert user_texts(rig, 0)[-1] == "are you there?\n\nI need the report by noon"
    for event_id in ("ev1", "ev2"):
        event = await rig.store.inbox.get("test", event_id)
        assert event is not None and event.status == "done"


async def test_a_backlog_is_one_input_per_session(make_rig) -> None:
    rig: Rig = await make_rig()
    async with rig.platform.backlog():
        await rig.platform.push("alice one", user="@alice")
        await rig.platform.push("bob one", user="@bob")
        await rig.platform.push("alice two", user="@alice")
    await rig.settled()
    assert sorted(m.text for m in rig.platform.messages) == ["alice one\n\nalice two", "bob one"]


async def test_everything_pending_at_start_is_one_input(make_rig) -> None:
    first: Rig = await make_rig()
    first.hub._processing = False
    await first.platform.push("first question")
    await first.platform.push("second question")
    restarted = Hub(first.store, first.hub.agent, {"test": first.platform}, first.hub.options, AccessList())
    first.hub = restarted
    first.llm.script(Echo(delay=0.3))
    assert await restarted.resume_pending("test") == 2
    await first.settled()
    assert [m.text for m in first.platform.messages] == ["first question\n\nsecond question"]
    assert len(first.llm.requests) == 1


async def test_messages_sent_before_the_start_never_interrupt_one_another(make_rig) -> None:
    # A platform that delivers its backlog one event at a time, without a catch-up block.
    rig: Rig = await make_rig()
    rig.llm.script(Echo(delay=0.3), Echo())
    before = rig.hub.started_at - 2
    await rig.platform.push("sent while you were away", sent_at=before - 8)
    await rig.llm.wait_for_requests(1)
    await rig.platform.push("and this too", sent_at=before)
    await rig.settled()
    assert [m.text for m in rig.platform.messages] == ["sent while you were away", "and this too"]


async def test_a_person_writing_during_a_backlog_run_still_interrupts_it(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.llm.script(Stall(seconds=60, after=1, reply=Text("partial answer that never ends")))
    async with rig.platform.backlog():
        await rig.platform.push("missed message")
    await rig.llm.wait_for_requests(1)
    await rig.platform.push("hello? are you answering?")
    await rig.settled()
    texts = [m.text for m in rig.platform.messages]
    assert INTERRUPT_ACK in texts and texts[-1] == "hello? are you answering?"


async def test_a_reply_cut_by_a_crash_is_finished_in_place_when_merged_with_a_later_backlog(make_rig) -> None:
    rig: Rig = await make_rig()
    rig.hub._processing = False
    cut = await rig.platform.push("tell me a story")
    ref = await rig.platform.send(cut.chat, "Once upon", idempotency_key=f"{cut.event_id}:0")
    await rig.store.inbox.record_sent("test", cut.event_id, 0, ref.message_id)
    await rig.platform.push("a short one please")
    rig.hub._processing = True
    rig.llm.script(Text("A short story."))
    await rig.hub.resume_pending("test")
    await rig.settled()
    assert [(m.message_id, m.text) for m in rig.platform.messages] == [(ref.message_id, "A short story.")]
