"""The catch-up read: which channels, which posts, in what order, from where."""

from __future__ import annotations

from typing import Any

from hermes.platforms.mattermost.catchup import (
    OVERLAP_MS,
    SINCE_LIMIT,
    ChannelInfo,
    encode_cursor,
    parse_cursor,
    read_backlog,
    starting_cursor,
)
from tests.unit.mattermost.fake_rest import FakeRest

T = 1_700_000_000_000


def post(pid: str, channel: str, created: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "channel_id": channel,
        "create_at": created,
        "update_at": created,
        "delete_at": 0,
        **extra,
    }


def channel(cid: str, last_post_at: int, kind: str = "O") -> dict[str, Any]:
    return {"id": cid, "type": kind, "name": f"name-{cid}", "last_post_at": last_post_at}


async def test_reads_only_channels_with_newer_posts_and_orders_everything_by_time() -> None:
    rest = FakeRest(
        [channel("a", T + 30), channel("b", T + 20, "D"), channel("quiet", T - OVERLAP_MS - 1)],
        [
            post("a2", "a", T + 30),
            post("b1", "b", T + 20),
            post("a1", "a", T + 10),
            post("old", "quiet", T - 99_999),
        ],
    )
    backlog = await read_backlog(rest, T)  # type: ignore[arg-type]
    assert [p["id"] for p in backlog.posts] == ["a1", "b1", "a2"]
    assert sorted(c for c, _ in rest.since_calls) == ["a", "b"]
    assert {since for _, since in rest.since_calls} == {T - OVERLAP_MS}
    assert backlog.channels["b"] == ChannelInfo("b", "D", "name-b", T + 20)


async def test_the_overlap_rereads_posts_sharing_the_cursors_millisecond() -> None:
    rest = FakeRest(
        [channel("a", T), channel("b", T)],
        [post("seen", "a", T), post("same-ms", "b", T), post("earlier", "b", T - 5)],
    )
    backlog = await read_backlog(rest, T)  # type: ignore[arg-type]
    assert [p["id"] for p in backlog.posts] == ["earlier", "same-ms", "seen"]


async def test_edits_of_old_posts_and_edit_history_copies_are_left_out() -> None:
    edited_old = post("old", "a", T - OVERLAP_MS - 5, update_at=T + 3, edit_at=T + 3)
    history = post("hist", "a", T + 1, update_at=T + 3, delete_at=T + 3, original_id="new")
    rest = FakeRest([channel("a", T + 2)], [edited_old, history, post("new", "a", T + 1, update_at=T + 3)])
    backlog = await read_backlog(rest, T)  # type: ignore[arg-type]
    assert [p["id"] for p in backlog.posts] == ["new"]


async def test_a_channel_that_fills_the_since_listing_is_read_page_by_page() -> None:
    many = [post(f"p{i:04d}", "busy", T + i + 1) for i in range(SINCE_LIMIT + 150)]
    rest = FakeRest([channel("busy", T + SINCE_LIMIT + 150)], many)
    backlog = await read_backlog(rest, T)  # type: ignore[arg-type]
    assert [p["id"] for p in backlog.posts] == [p["id"] for p in many]
    assert rest.page_calls == [("busy", page) for page in range(6)]


def test_cursor_encoding_and_the_first_cursor() -> None:
    assert parse_cursor(encode_cursor(T)) == T
    assert parse_cursor(None) is None
    assert parse_cursor("not a number") is None
    assert parse_cursor("-5") is None
    channels = {"a": ChannelInfo("a", "O", "a", T), "b": ChannelInfo("b", "D", "b", T + 7)}
    assert starting_cursor(channels, now_ms=1) == T + 7
    assert starting_cursor({}, now_ms=42) == 42
