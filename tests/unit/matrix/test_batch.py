"""Walking a /sync response: which events reach the event reader, in which order, and what is history."""

from __future__ import annotations

from typing import Any

import pytest
from mautrix.errors import MatrixConnectionError

from hermes.platforms.base import ChatRef, Inbound
from hermes.platforms.matrix.batch import BatchReader
from tests.unit.matrix.encryption_fakes import plain_decryption

BOT = "@bot:x"


def member(user: str, membership: str, sender: str | None = None) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "state_key": user,
        "sender": sender or user,
        "event_id": f"${user}-{membership}",
        "content": {"membership": membership},
    }


def text(event_id: str, sender: str = "@alice:x") -> dict[str, Any]:
    return {"type": "m.room.message", "event_id": event_id, "sender": sender, "content": {"body": event_id}}


class Reader:
    def __init__(self, failures: dict[str, Exception] | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        self.failures = failures or {}

    async def read(self, room_id: str, event: dict[str, Any]) -> Inbound | None:
        self.seen.append((room_id, event["event_id"]))
        if event["event_id"] in self.failures:
            raise self.failures[event["event_id"]]
        return Inbound(event["event_id"], ChatRef("matrix", room_id, "dm"), "@alice:x", "a", "t", True, 0.0)


class Invites:
    def __init__(self) -> None:
        self.handled: list[str] = []

    async def handle(self, room_id: str, room: dict[str, Any]) -> None:
        self.handled.append(room_id)


class Rooms:
    def __init__(self) -> None:
        self.applied: list[str] = []
        self.forgotten: list[str] = []

    def apply(self, room_id: str, event: dict[str, Any]) -> None:
        self.applied.append(event.get("event_id", ""))

    def forget(self, room_id: str) -> None:
        self.forgotten.append(room_id)


class Direct:
    TYPE = "m.direct"

    def __init__(self) -> None:
        self.content: dict[str, Any] = {}

    def update(self, content: dict[str, Any]) -> None:
        self.content = content


class Pages:
    """Answers /messages with the pages given, newest first, as the homeserver does for dir=b."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.queries: list[dict[str, str]] = []

    async def request(self, method: Any, path: str, *_: Any, query_params: Any = None, **__: Any) -> Any:
        assert path.endswith("/messages")
        self.queries.append(query_params)
        return self.pages.pop(0)


def reader_for(reader: Reader, http: Any = None) -> tuple[BatchReader, Invites, Rooms, Direct]:
    invites, rooms, direct = Invites(), Rooms(), Direct()
    batch = BatchReader(http, BOT, reader, invites, rooms, direct, plain_decryption())  # type: ignore[arg-type]
    return batch, invites, rooms, direct


def sync(join: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {"next_batch": "s2", "rooms": {"join": join or {}, **sections}}


async def test_events_are_read_in_timeline_order_and_members_kept_current() -> None:
    reader = Reader()
    batch, _, rooms, _ = reader_for(reader)
    timeline = [text("$1"), member("@bob:x", "join"), text("$2"), {"type": "m.reaction", "event_id": "$3"}]
    result = await batch.read(sync({"!r": {"timeline": {"events": timeline}}}), "s1")
    assert [i.event_id for i in result] == ["$1", "$2", "$3"]
    assert rooms.applied == ["$1", "$@bob:x-join", "$2", "$3"]


async def test_what_came_before_the_bots_invitation_is_history() -> None:
    reader = Reader()
    batch, _, _, _ = reader_for(reader)
    timeline = [
        text("$old"),
        member(BOT, "invite", sender="@alice:x"),
        text("$while-invited"),
        member(BOT, "join"),
        text("$after"),
    ]
    result = await batch.read(sync({"!r": {"timeline": {"events": timeline}}}), "s1")
    assert [i.event_id for i in result] == ["$while-invited", "$after"]


async def test_a_rejoin_counts_from_the_latest_invitation() -> None:
    reader = Reader()
    batch, _, _, _ = reader_for(reader)
    timeline = [
        member(BOT, "join"),
        text("$long-ago"),
        member(BOT, "leave"),
        text("$while-away"),
        member(BOT, "invite", sender="@alice:x"),
        member(BOT, "join"),
        text("$now"),
    ]
    result = await batch.read(sync({"!r": {"timeline": {"events": timeline}}}), "s1")
    assert [i.event_id for i in result] == ["$now"]


async def test_a_first_sync_answers_nothing_but_takes_invites_and_the_dm_map() -> None:
    reader = Reader()
    batch, invites, _, direct = reader_for(reader)
    data = sync(
        {"!r": {"timeline": {"events": [text("$old")]}}},
        invite={"!new": {"invite_state": {"events": []}}},
    )
    data["account_data"] = {"events": [{"type": "m.direct", "content": {"@alice:x": ["!dm"]}}]}
    assert await batch.read(data, None) == []
    assert reader.seen == [] and invites.handled == ["!new"]
    assert direct.content == {"@alice:x": ["!dm"]}


async def test_left_rooms_are_forgotten() -> None:
    batch, _, rooms, _ = reader_for(Reader())
    await batch.read(sync(leave={"!gone": {}}), "s1")
    assert rooms.forgotten == ["!gone"]


async def test_a_trimmed_timeline_is_filled_back_to_the_previous_cursor() -> None:
    http = Pages(
        [
            {"chunk": [text("$4"), text("$3")], "end": "t2"},
            {"chunk": [text("$2"), text("$1")], "end": "t1"},
            {"chunk": [], "end": "t1"},
        ]
    )
    reader = Reader()
    batch, _, _, _ = reader_for(reader, http)
    room = {"timeline": {"events": [text("$5")], "limited": True, "prev_batch": "p5"}}
    result = await batch.read(sync({"!r": room}), "s1")
    assert [i.event_id for i in result] == ["$1", "$2", "$3", "$4", "$5"]
    assert [q["from"] for q in http.queries] == ["p5", "t2", "t1"]
    assert {q["to"] for q in http.queries} == {"s1"} and {q["dir"] for q in http.queries} == {"b"}


async def test_an_event_that_cannot_be_read_is_dropped_and_the_rest_go_on() -> None:
    reader = Reader(failures={"$bad": KeyError("event_id")})
    batch, _, _, _ = reader_for(reader)
    timeline = [text("$1"), text("$bad"), text("$2")]
    result = await batch.read(sync({"!r": {"timeline": {"events": timeline}}}), "s1")
    assert [i.event_id for i in result] == ["$1", "$2"]


async def test_a_network_failure_while_reading_fails_the_batch_so_it_is_fetched_again() -> None:
    reader = Reader(failures={"$2": MatrixConnectionError("members lookup failed")})
    batch, _, _, _ = reader_for(reader)
    timeline = [text("$1"), text("$2")]
    with pytest.raises(MatrixConnectionError):
        await batch.read(sync({"!r": {"timeline": {"events": timeline}}}), "s1")
