from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hermes.store import NewMessage, NotFoundError, Session, Store
from tests.unit.store.conftest import FakeClock

KEY = "matrix:dm:!room:example.org"

TOOL_CALLS = [{"id": "call_1", "type": "function", "function": {"name": "web", "arguments": '{"q": "x"}'}}]


async def open_session(store: Store, key: str = KEY) -> Session:
    return await store.sessions.get_or_create(key, platform="matrix", chat_id="!room:example.org")


def turn(text: str, reply: str, *, prompt: int = 10, completion: int = 5) -> list[NewMessage]:
    return [
        NewMessage("user", text, metadata={"attachments": [{"name": "ü.png", "size": 3}]}),
        NewMessage(
            "assistant", None, tool_calls=TOOL_CALLS, model="m1", prompt_tokens=prompt, completion_tokens=1
        ),
        NewMessage("tool", "result", tool_call_id="call_1", name="web"),
        NewMessage("assistant", reply, model="m1", prompt_tokens=prompt, completion_tokens=completion),
    ]


async def test_a_key_has_one_current_session(store: Store, clock: FakeClock) -> None:
    assert await store.sessions.current(KEY) is None
    session = await open_session(store)
    assert (session.key, session.platform, session.chat_id) == (KEY, "matrix", "!room:example.org")
    assert (session.created_at, session.ended_at, session.message_count) == (clock.now, None, 0)
    assert await open_session(store) == session
    assert await store.sessions.current(KEY) == session
    assert await store.sessions.get(session.id) == session


async def test_concurrent_get_or_create_opens_one_session(store: Store) -> None:
    sessions = await asyncio.gather(*(open_session(store) for _ in range(20)))
    assert len({s.id for s in sessions}) == 1


async def test_ending_a_session_opens_a_new_one_under_the_same_key(store: Store, clock: FakeClock) -> None:
    first = await open_session(store)
    await store.sessions.append(first.id, turn("hi", "hello"))
    clock.advance(10)

    ended = await store.sessions.end_current(KEY)
    assert ended is not None and ended.id == first.id and ended.ended_at == clock.now
    assert await store.sessions.current(KEY) is None
    assert await store.sessions.end_current(KEY) is None

    second = await open_session(store)
    assert second.id != first.id and second.message_count == 0
    assert await store.sessions.messages(second.id) == []
    assert len(await store.sessions.messages(first.id)) == 4


async def test_append_keeps_order_fields_and_totals(store: Store, clock: FakeClock) -> None:
    session = await open_session(store)
    clock.advance(1)
    stored = await store.sessions.append(session.id, turn("what's up?", "all good", prompt=100, completion=7))

    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert [m.id for m in stored] == sorted(m.id for m in stored)
    assert stored[0].metadata == {"attachments": [{"name": "ü.png", "size": 3}]}
    assert stored[1].content is None and stored[1].tool_calls == TOOL_CALLS
    assert (stored[2].tool_call_id, stored[2].name) == ("call_1", "web")
    assert (stored[3].content, stored[3].model, stored[3].created_at) == ("all good", "m1", clock.now)
    assert await store.sessions.messages(session.id) == stored

    after = await store.sessions.get(session.id)
    assert after is not None
    assert (after.message_count, after.prompt_tokens, after.completion_tokens) == (4, 200, 8)
    assert after.updated_at == clock.now


async def test_messages_after_an_id_and_with_a_limit(store: Store) -> None:
    session = await open_session(store)
    stored = await store.sessions.append(session.id, turn("a", "b") + turn("c", "d"))
    assert await store.sessions.messages(session.id, after_id=stored[3].id) == stored[4:]
    assert await store.sessions.messages(session.id, after_id=stored[3].id, limit=2) == stored[4:6]
    assert await store.sessions.append(session.id, []) == []


async def test_transcripts_survive_a_restart(db_path: Path) -> None:
    store = await Store.open(db_path)
    session = await open_session(store)
    stored = await store.sessions.append(session.id, turn("hi", "hello"))
    await store.close()

    store = await Store.open(db_path)
    try:
        assert await store.sessions.current(KEY) is not None
        assert await store.sessions.messages(session.id) == stored
    finally:
        await store.close()


async def test_appending_to_an_unknown_session_stores_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        await store.sessions.append("nope", [NewMessage("user", "hi")])
    assert await store.db.run(lambda conn: conn.execute("SELECT count(*) FROM messages").fetchone()[0]) == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (NewMessage("robot", "hi"), "role"),  # type: ignore[arg-type]
        (NewMessage("user", 42), "content"),  # type: ignore[arg-type]
        (NewMessage("assistant", "x", prompt_tokens=-1), "prompt_tokens"),
        (NewMessage("assistant", "x", completion_tokens=1.5), "completion_tokens"),  # type: ignore[arg-type]
        (NewMessage("user", "x", metadata={"f": {1, 2}}), "metadata"),
        (NewMessage("assistant", "x", tool_calls=[{"x": float("inf")}]), "tool_calls"),
    ],
)
async def test_a_bad_message_in_a_batch_stores_none_of_it(
    store: Store, bad: NewMessage, message: str
) -> None:
    session = await open_session(store)
    with pytest.raises(ValueError, match=message):
        await store.sessions.append(session.id, [NewMessage("user", "fine"), bad])
    assert await store.sessions.messages(session.id) == []
    after = await store.sessions.get(session.id)
    assert after is not None and after.message_count == 0


async def test_undo_removes_the_last_turn(store: Store) -> None:
    session = await open_session(store)
    first = await store.sessions.append(session.id, turn("one", "1"))
    second = await store.sessions.append(session.id, turn("two", "2"))

    assert await store.sessions.undo_last_turn(session.id) == second
    assert await store.sessions.messages(session.id) == first
    after = await store.sessions.get(session.id)
    assert after is not None
    # Spent tokens stay spent; the message count follows the transcript.
    assert (after.message_count, after.prompt_tokens) == (4, 40)

    assert await store.sessions.undo_last_turn(session.id) == first
    assert await store.sessions.undo_last_turn(session.id) == []

    again = await store.sessions.append(session.id, [NewMessage("user", "three")])
    assert again[0].id > second[-1].id


async def test_undo_without_a_user_message_removes_nothing(store: Store) -> None:
    session = await open_session(store)
    system = await store.sessions.append(session.id, [NewMessage("system", "be brief")])
    assert await store.sessions.undo_last_turn(session.id) == []
    assert await store.sessions.messages(session.id) == system
    with pytest.raises(NotFoundError):
        await store.sessions.undo_last_turn("nope")


async def test_undo_drops_a_summary_that_covered_removed_messages(store: Store) -> None:
    session = await open_session(store)
    first = await store.sessions.append(session.id, turn("one", "1"))
    await store.sessions.append(session.id, turn("two", "2"))
    third = await store.sessions.append(session.id, turn("three", "3"))

    await store.sessions.set_summary(session.id, "talked about one", first[-1].id)
    await store.sessions.undo_last_turn(session.id)
    kept = await store.sessions.get(session.id)
    assert kept is not None
    assert (kept.summary, kept.summary_upto_message_id) == ("talked about one", first[-1].id)

    await store.sessions.append(session.id, turn("three", "3"))
    await store.sessions.set_summary(session.id, "everything", third[-1].id + 100)
    await store.sessions.undo_last_turn(session.id)
    dropped = await store.sessions.get(session.id)
    assert dropped is not None
    assert (dropped.summary, dropped.summary_upto_message_id) == (None, None)


async def test_summary_and_model_override(store: Store) -> None:
    session = await open_session(store)
    stored = await store.sessions.append(session.id, turn("a", "b"))

    updated = await store.sessions.set_summary(session.id, "short version", stored[1].id)
    assert (updated.summary, updated.summary_upto_message_id) == ("short version", stored[1].id)
    assert await store.sessions.messages(session.id) == stored

    assert (await store.sessions.set_model_override(session.id, "gpt-x")).model_override == "gpt-x"
    assert (await store.sessions.set_model_override(session.id, None)).model_override is None

    with pytest.raises(ValueError, match="together"):
        await store.sessions.set_summary(session.id, "no anchor", None)
    with pytest.raises(NotFoundError):
        await store.sessions.set_model_override("nope", "gpt-x")


async def test_list_sessions_newest_activity_first(store: Store, clock: FakeClock) -> None:
    a = await open_session(store, "matrix:a")
    clock.advance(1)
    b = await store.sessions.get_or_create("mattermost:b", platform="mattermost", chat_id="c")
    clock.advance(1)
    await store.sessions.append(a.id, [NewMessage("user", "bump")])
    await store.sessions.end_current("mattermost:b")

    assert [s.id for s in await store.sessions.list_sessions()] == [b.id, a.id]
    assert [s.id for s in await store.sessions.list_sessions(include_ended=False)] == [a.id]
    assert [s.id for s in await store.sessions.list_sessions(platform="mattermost")] == [b.id]
    assert [s.id for s in await store.sessions.list_sessions(limit=1, offset=1)] == [a.id]


async def test_deleting_a_session_deletes_its_transcript(store: Store) -> None:
    keep = await open_session(store, "keep")
    gone = await open_session(store, "gone")
    await store.sessions.append(keep.id, turn("kept words", "fine"))
    await store.sessions.append(gone.id, turn("doomed words", "bye"))

    assert await store.sessions.delete(gone.id) is True
    assert await store.sessions.delete(gone.id) is False
    assert await store.sessions.get(gone.id) is None
    assert await store.sessions.messages(gone.id) == []
    assert [h.session_id for h in await store.sessions.search("words")] == [keep.id]


async def test_text_with_nul_is_stored_on_every_engine(store: Store, engine: str) -> None:
    session = await store.sessions.get_or_create("k", platform="matrix", chat_id="!room")
    await store.sessions.append(session.id, [NewMessage("user", "before\x00after")])
    [message] = await store.sessions.messages(session.id)
    # PostgreSQL text cannot hold NUL: it is kept as U+FFFD there.
    assert message.content == ("before\x00after" if engine == "sqlite" else "before\ufffdafter")
