"""The hub's commands, each against the real sessions and homes repositories and a recording runs port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hermes.gateway.commands import COMMANDS, CommandContext, parse_command
from hermes.platforms.base import ChatRef, Inbound
from hermes.store import Store
from hermes.store.sessions import NewMessage

KEY = "test:dm:@alice"


class Runs:
    """The session runs as a command steers them: which sessions it interrupted and what it queued."""

    def __init__(self, running: bool = False) -> None:
        self.running = running
        self.interrupted: list[str] = []
        self.queued: list[tuple[str, Inbound]] = []

    @property
    def runs_in_flight(self) -> int:
        return int(self.running)

    def interrupt(self, session_key: str) -> bool:
        self.interrupted.append(session_key)
        was, self.running = self.running, False
        return was

    def run_again(self, session_key: str, inbound: Inbound) -> None:
        self.queued.append((session_key, inbound))


class Owners:
    """`gateway.owners` as a set of user ids; empty: nobody is the owner."""

    def __init__(self, *owners: str) -> None:
        self.owners = set(owners)

    def has_owner(self, platform: str) -> bool:
        return bool(self.owners)

    def is_owner(self, platform: str, user_id: str) -> bool:
        return user_id in self.owners


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.db")
    yield opened
    await opened.close()


def inbound(text: str) -> Inbound:
    return Inbound("ev1", ChatRef("test", "dm-alice", "dm", "t1"), "@alice", "Alice", text, True, 0.0)


async def run(
    store: Store, text: str, runs: Runs | None = None, *, uptime: float = 0.0, owners: Owners | None = None
) -> str | None:
    parsed = parse_command(text)
    assert parsed is not None, text
    command, args = parsed
    ctx = CommandContext(
        inbound(text),
        KEY,
        command,
        args,
        sessions=store.sessions,
        homes=store.homes,
        runs=runs or Runs(),
        owners=owners or Owners(),
        default_model="model-a",
        uptime_seconds=uptime,
    )
    return await command.handler(ctx)


async def exchange(store: Store, question: str, answer: str) -> str:
    session = await store.sessions.get_or_create(KEY, platform="test", chat_id="dm-alice")
    await store.sessions.append(
        session.id,
        [
            NewMessage("user", question),
            NewMessage("assistant", answer, prompt_tokens=7, completion_tokens=3),
        ],
    )
    return session.id


@pytest.mark.parametrize(
    ("text", "bare", "found"),
    [
        ("/help", False, ("help", "")),
        ("!STATUS", False, ("status", "")),
        ("  /model gpt-x  ", False, ("model", "gpt-x")),
        ("/reset", False, ("new", "")),
        ("sethome", True, ("sethome", "")),
        ("sethome", False, None),
        ("sethome now", True, None),
        ("/unknown", False, None),
        ("/", False, None),
        ("1/2", False, None),
        ("", False, None),
    ],
)
def test_commands_are_recognised_in_one_place(text: str, bare: bool, found: tuple[str, str] | None) -> None:
    parsed = parse_command(text, bare=bare)
    assert (None if parsed is None else (parsed[0].name, parsed[1])) == found


async def test_help_lists_each_command_once(store: Store) -> None:
    reply = await run(store, "/help") or ""
    lines = reply.splitlines()[1:]
    assert len(lines) == len({command.name for command in COMMANDS.values()})
    assert "/new — start a fresh conversation" in lines and not any(
        line.startswith("/reset") for line in lines
    )


async def test_new_interrupts_and_ends_the_session(store: Store) -> None:
    await exchange(store, "hi", "hello")
    runs = Runs(running=True)
    assert await run(store, "/new", runs) == "✨ Started a fresh conversation."
    assert runs.interrupted == [KEY] and await store.sessions.current(KEY) is None


async def test_stop_says_whether_anything_was_running(store: Store) -> None:
    runs = Runs(running=True)
    assert await run(store, "/stop", runs) == "⏹ Stopped."
    assert await run(store, "/stop", runs) == "Nothing is running."
    assert runs.interrupted == [KEY, KEY]


async def test_status_and_usage(store: Store) -> None:
    assert await run(store, "/usage") == "No usage yet in this conversation."
    await exchange(store, "hi", "hello")
    status = await run(store, "/status", Runs(running=True), uptime=3 * 86400 + 3700) or ""
    assert "up 3d 1h 1m" in status and "Model: model-a" in status and f"Session: {KEY}" in status
    assert "Messages: 2, tokens: 7 in / 3 out" in status and "Runs in flight: 1" in status
    usage = await run(store, "/usage")
    assert usage == "This conversation: 7 prompt + 3 completion = 10 tokens over 2 messages."


async def test_model_shows_sets_and_resets_the_override(store: Store) -> None:
    assert await run(store, "/model") == "Model: model-a"
    assert await run(store, "/model big-one") == "Model for this conversation: big-one"
    assert "Model: big-one" in (await run(store, "/status") or "")
    assert await run(store, "/model default") == "Model for this conversation: model-a"
    session = await store.sessions.current(KEY)
    assert session is not None and session.model_override is None


async def test_sethome_stores_the_chat_and_its_thread_and_is_the_owners(store: Store) -> None:
    refused = await run(store, "/sethome", owners=Owners("@bob"))
    assert (
        refused
        == "🏠 Only the owner can set the home channel (the `gateway.owners` setting names who that is)."
    )
    assert await store.homes.get("test") is None
    assert (await run(store, "/sethome") or "").startswith("🏠 This chat is now the home channel")
    assert (await run(store, "/sethome", owners=Owners("@alice")) or "").startswith("🏠 This chat is now")
    home = await store.homes.get("test")
    assert home is not None and (home.chat_id, home.thread_id) == ("dm-alice", "t1")


async def test_whoami(store: Store) -> None:
    assert await run(store, "/whoami") == "You are Alice — test id `@alice`."


async def test_undo_forgets_the_last_exchange(store: Store) -> None:
    assert await run(store, "/undo") == "Nothing to undo."
    session_id = await exchange(store, "first", "one")
    await store.sessions.append(session_id, [NewMessage("user", "second"), NewMessage("assistant", "two")])
    assert await run(store, "/undo") == "↩️ Forgot the last exchange (2 messages)."
    assert [m.content for m in await store.sessions.messages(session_id)] == ["first", "one"]


async def test_retry_queues_the_last_question_again_and_says_nothing(store: Store) -> None:
    runs = Runs()
    assert await run(store, "/retry", runs) == "Nothing to retry."
    await exchange(store, "explain tides", "meh")
    assert await run(store, "/retry", runs) is None
    [(key, queued)] = runs.queued
    assert key == KEY and queued.text == "explain tides" and queued.event_id == "ev1"
