"""A post turned into the hub's Inbound: chat, thread, sender, text, files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from hermes.gateway.commands import parse_command
from hermes.platforms.mattermost.addressing import BotIdentity, Policy
from hermes.platforms.mattermost.files import FileFetcher
from hermes.platforms.mattermost.inbound import (
    InboundBuilder,
    PostContext,
    ThreadBook,
    from_bot,
    ids_in,
    ignored,
    parse_posted,
)
from tests.unit.mattermost.fake_rest import FakeRest

BOT_ID = "b" * 26
ALICE = "a" * 26
BOT = BotIdentity.from_user({"id": BOT_ID, "username": "hermes"})


def builder(
    rest: FakeRest, tmp_path: Path, *, allowed: bool = True, thread_replies: bool = False
) -> InboundBuilder:
    policy = Policy(require_mention=True, free_channels=frozenset(), thread_replies=thread_replies)
    return InboundBuilder(
        rest,  # type: ignore[arg-type]
        BOT,
        policy,
        FileFetcher(rest, tmp_path / "media", 1000),  # type: ignore[arg-type]
        ThreadBook(rest, BOT_ID),  # type: ignore[arg-type]
        is_allowed=lambda user_id: allowed,
        is_command=lambda text, bare=False: parse_command(text, bare=bare) is not None,
    )


def post(message: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "id": "p" * 26,
        "channel_id": "c" * 26,
        "user_id": ALICE,
        "root_id": "",
        "message": message,
        "create_at": 1_700_000_000_123,
        "type": "",
        "props": {},
        **extra,
    }


def test_posted_events_are_read_with_their_per_receiver_hooks() -> None:
    data = {
        "post": json.dumps(post("hi")),
        "channel_type": "O",
        "channel_name": "town-square",
        "sender_name": "@alice",
        "mentions": json.dumps([BOT_ID]),
        "followers": json.dumps(["someone-else"]),
    }
    parsed = parse_posted(data, BOT_ID)
    assert parsed is not None
    _, context = parsed
    assert context == PostContext(
        "O", "town-square", "alice", server_mentioned=True, bot_follows_thread=False
    )
    assert parse_posted({"post": "{"}, BOT_ID) is None
    assert parse_posted({"post": json.dumps({"id": 5})}, BOT_ID) is None
    assert ids_in("not json") == frozenset() and ids_in(json.dumps({"a": 1})) == frozenset()


def test_what_never_reaches_the_hub() -> None:
    assert ignored(post(user_id=BOT_ID), BOT_ID) == "own post"
    assert ignored(post(type="system_join_channel"), BOT_ID) == "system post"
    assert ignored(post(delete_at=5), BOT_ID) == "deleted"
    assert ignored(post(), BOT_ID) is None
    assert from_bot(post(props={"from_bot": "true"})) and from_bot(post(props={"from_webhook": "true"}))
    assert not from_bot(post())


async def test_a_mention_in_a_channel(tmp_path: Path) -> None:
    rest = FakeRest()
    inbound = await builder(rest, tmp_path).build(
        post("@hermes hello"), PostContext("O", sender_name="alice")
    )
    assert inbound.addressed and inbound.text == "hello"
    assert (inbound.chat.kind, inbound.chat.thread_id, inbound.sender_name) == ("channel", None, "alice")
    assert inbound.sent_at == 1_700_000_000.123
    assert rest.calls == []


async def test_a_reply_in_a_thread_the_bot_is_in_needs_no_mention_and_is_looked_up_once(
    tmp_path: Path,
) -> None:
    rest = FakeRest(threads={"r" * 26: [ALICE, BOT_ID], "x" * 26: [ALICE]})
    make = builder(rest, tmp_path)
    context = PostContext("O", sender_name="alice")
    first = await make.build(post("and then?", root_id="r" * 26), context)
    again = await make.build(post("more?", id="q" * 26, root_id="r" * 26), context)
    other = await make.build(post("chat", root_id="x" * 26), context)
    assert first.addressed and again.addressed and first.chat.thread_id == "r" * 26
    assert not other.addressed
    assert rest.calls == [f"thread {'r' * 26}", f"thread {'x' * 26}"]


async def test_the_servers_followers_hook_says_the_bot_is_in_the_thread(tmp_path: Path) -> None:
    rest = FakeRest()
    context = PostContext("O", sender_name="alice", bot_follows_thread=True)
    inbound = await builder(rest, tmp_path).build(post("go on", root_id="r" * 26), context)
    assert inbound.addressed and rest.calls == []


async def test_names_are_looked_up_for_posts_read_back(tmp_path: Path) -> None:
    rest = FakeRest()
    make = builder(rest, tmp_path)
    assert (await make.build(post("hi"), PostContext("D"))).sender_name == "alice"
    assert (await make.build(post("hi again"), PostContext("D"))).sender_name == "alice"
    assert (await make.build(post("?", user_id="gone"), PostContext("D"))).sender_name == "gone"
    assert rest.calls == [f"user {ALICE}", "user gone"]


async def test_files_of_people_the_bot_does_not_answer_are_not_downloaded(tmp_path: Path) -> None:
    rest = FakeRest()
    stranger = await builder(rest, tmp_path, allowed=False).build(
        post("look", file_ids=["f" * 26]), PostContext("D", sender_name="eve")
    )
    assert stranger.attachments == () and rest.calls == []
    friend = await builder(rest, tmp_path).build(
        post("look", file_ids=["f" * 26]), PostContext("D", sender_name="a")
    )
    [attachment] = friend.attachments
    assert await asyncio.to_thread(Path(attachment.path).read_bytes) == b"abc"
    assert friend.text.startswith("look\n\n[a.txt (text/plain, 3 bytes) saved at ")
