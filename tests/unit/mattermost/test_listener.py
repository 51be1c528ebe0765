"""The cursor moves only with what the hub has, and the reconnect backoff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hermes.backoff import Backoff
from hermes.platforms.base import AccessList, ChatRef, Inbound
from hermes.platforms.mattermost.inbound import PostContext
from hermes.platforms.mattermost.listener import Listener
from hermes.platforms.mattermost.options import MattermostOptions
from tests.fakes.hub import FakeHub

from .fake_rest import FakeRest
from .test_catchup import channel, post

T = 1_700_000_000_000
BOT = "b" * 26


class Threads:
    def __init__(self) -> None:
        self.own: list[str] = []

    def note_own(self, post: dict[str, Any]) -> None:
        self.own.append(post["id"])


class Builder:
    def __init__(self, poison: str = "") -> None:
        self.threads = Threads()
        self.poison = poison
        self.contexts: list[PostContext] = []

    async def build(self, post: dict[str, Any], context: PostContext) -> Inbound:
        if post["id"] == self.poison:
            raise ValueError("cannot read this one")
        self.contexts.append(context)
        chat = ChatRef("mattermost", post["channel_id"], "dm")
        return Inbound(post["id"], chat, post["user_id"], "someone", post.get("message", ""), True, 0.0)


def options() -> MattermostOptions:
    return MattermostOptions(
        url="http://127.0.0.1:1",
        token="t",
        access=AccessList(),
        home_channel=None,
        thread_replies=False,
        require_mention=True,
        free_response_channels=frozenset(),
        max_message_chars=16_383,
        max_file_bytes=1000,
        media_dir=Path("/nonexistent"),
    )


def listener(rest: FakeRest, hub: FakeHub, cursor: int | None, builder: Builder | None = None) -> Listener:
    return Listener(
        rest=rest,  # type: ignore[arg-type]
        options=options(),
        bot_id=BOT,
        builder=builder or Builder(),  # type: ignore[arg-type]
        hub=hub,  # type: ignore[arg-type]
        cursor=cursor,
        report=lambda problem, halted=False: None,
    )


def human(pid: str, created: int, **extra: Any) -> dict[str, Any]:
    return post(pid, "a", created, user_id="u" * 26, type="", **extra)


async def test_the_first_start_answers_nothing_from_before() -> None:
    rest = FakeRest([channel("a", T + 9, "D")], [human("old", T + 9)])
    hub = FakeHub()
    await listener(rest, hub, None).catch_up()
    assert hub.received == []
    assert hub.saved == [str(T + 9)]


async def test_catch_up_hands_posts_over_in_order_and_only_the_last_carries_the_cursor() -> None:
    rest = FakeRest(
        [channel("a", T + 4, "D")],
        [
            human("h1", T + 1),
            post("sys", "a", T + 2, user_id="u" * 26, type="system_join_channel"),
            human("h2", T + 3),
            post("own", "a", T + 4, user_id=BOT, type=""),
        ],
    )
    hub = FakeHub()
    builder = Builder()
    mm = listener(rest, hub, T, builder)
    await mm.catch_up()
    assert hub.received == [("h1", None), ("h2", str(T + 4))]
    assert hub.saved == []
    assert mm.cursor == T + 4
    assert builder.threads.own == ["own"]
    assert builder.contexts[0].channel_type == "D"


async def test_when_the_last_post_is_known_already_the_cursor_is_saved_on_its_own() -> None:
    rest = FakeRest([channel("a", T + 2, "D")], [human("h1", T + 1), human("h2", T + 2)])
    hub = FakeHub(known={"h2"})
    mm = listener(rest, hub, T)
    await mm.catch_up()
    assert hub.received == [("h1", None), ("h2", str(T + 2))]
    assert hub.saved == [str(T + 2)]
    await mm.catch_up()  # nothing new: duplicates only, no cursor change
    assert hub.saved == [str(T + 2)]


async def test_a_post_that_cannot_be_read_is_skipped() -> None:
    rest = FakeRest([channel("a", T + 2, "D")], [human("bad", T + 1), human("good", T + 2)])
    hub = FakeHub()
    await listener(rest, hub, T, Builder(poison="bad")).catch_up()
    assert hub.received == [("good", str(T + 2))]


def posted(p: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {"event": "posted", "data": {"post": json.dumps(p), "channel_type": "D", **data}, "seq": 1}


async def test_live_posts_move_the_cursor_forward_only() -> None:
    hub = FakeHub(known={"dup"})
    mm = listener(FakeRest([], []), hub, T)
    await mm._on_frame(posted(human("new", T + 5)))
    await mm._on_frame(posted(human("late", T + 3)))
    await mm._on_frame(posted(human("dup", T + 8)))
    await mm._on_frame(posted(post("mine", "a", T + 9, user_id=BOT, type="")))
    await mm._on_frame({"event": "typing", "data": {}})
    await mm._on_frame({"event": "posted", "data": {"post": "{broken"}})
    assert hub.received == [("new", str(T + 5)), ("late", None), ("dup", str(T + 8))]
    assert hub.saved == [str(T + 8)]
    assert mm.cursor == T + 8


def test_backoff_doubles_from_2_to_60_seconds_with_jitter_and_resets() -> None:
    backoff = Backoff(2.0, 60.0)
    delays = [backoff.next_delay() for _ in range(8)]
    for delay, nominal in zip(delays, [2, 4, 8, 16, 32, 60, 60, 60], strict=True):
        assert nominal * 0.8 <= delay <= min(60.0, nominal * 1.2)
    backoff.reset()
    assert 1.6 <= backoff.next_delay() <= 2.4


def test_backoff_jitter_varies() -> None:
    assert len({round(Backoff(2.0, 60.0).next_delay(), 6) for _ in range(50)}) > 1
