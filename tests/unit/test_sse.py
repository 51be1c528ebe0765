"""Cutting server-sent events from raw bytes, however the body happens to be chunked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes.sse import ServerSentEvent, server_sent_events


async def _body(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _events(*chunks: bytes) -> list[ServerSentEvent]:
    return [event async for event in server_sent_events(_body(chunks))]


def _parse(*chunks: bytes) -> list[ServerSentEvent]:
    return asyncio.run(_events(*chunks))


def _split(raw: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = [0, *sorted(cuts), len(raw)]
    return [raw[start:end] for start, end in pairwise(points)]


async def test_a_blank_line_dispatches_each_event() -> None:
    assert await _events(b"data: one\n\ndata: two\n\n") == [
        ServerSentEvent("one"),
        ServerSentEvent("two"),
    ]


async def test_data_lines_are_joined_with_newlines() -> None:
    assert await _events(b"data: first\ndata: second\ndata: third\n\n") == [
        ServerSentEvent("first\nsecond\nthird")
    ]


async def test_only_one_leading_space_is_stripped() -> None:
    assert await _events(b"data:no space\n\ndata:  two spaces\n\ndata:\n\n") == [
        ServerSentEvent("no space"),
        ServerSentEvent(" two spaces"),
        ServerSentEvent(""),
    ]


async def test_a_field_without_a_colon_has_an_empty_value() -> None:
    # WHATWG: the whole line is the field name; two bare `data` lines make one newline.
    assert await _events(b"data\ndata\n\n") == [ServerSentEvent("\n")]


async def test_event_names_the_event_and_applies_only_to_it() -> None:
    raw = b"event: message_start\ndata: {}\n\ndata: plain\n\nevent:delta\ndata: x\n\n"
    assert await _events(raw) == [
        ServerSentEvent("{}", "message_start"),
        ServerSentEvent("plain", None),
        ServerSentEvent("x", "delta"),
    ]


async def test_comment_lines_and_other_fields_are_ignored() -> None:
    raw = b": keep-alive\ndata: a\n: OPENROUTER PROCESSING\nid: 7\nretry: 1000\nfoo: bar\ndata: b\n\n"
    assert await _events(raw) == [ServerSentEvent("a\nb")]


async def test_a_body_of_only_comments_gives_nothing() -> None:
    assert await _events(b": ping\n\n: ping\n\n") == []


async def test_crlf_line_endings_are_handled() -> None:
    raw = b"event: x\r\ndata: one\r\ndata: two\r\n\r\ndata: three\r\n\r\n"
    assert await _events(raw) == [ServerSentEvent("one\ntwo", "x"), ServerSentEvent("three")]


async def test_an_event_without_data_is_not_dispatched_and_its_name_is_forgotten() -> None:
    assert await _events(b"event: ping\n\ndata: after\n\n") == [ServerSentEvent("after", None)]


async def test_an_event_cut_off_by_the_end_of_the_body_is_still_given() -> None:
    assert await _events(b"data: {}\n\ndata: [DONE]") == [ServerSentEvent("{}"), ServerSentEvent("[DONE]")]
    assert await _events(b"data: [DONE]\r") == [ServerSentEvent("[DONE]")]
    assert await _events(b"data: [DONE]\n") == [ServerSentEvent("[DONE]")]
    assert await _events(b"event: end\ndata: a\ndata: b") == [ServerSentEvent("a\nb", "end")]


async def test_an_empty_body_gives_nothing() -> None:
    assert await _events() == []
    assert await _events(b"", b"") == []


async def test_invalid_utf8_is_replaced_rather_than_raising() -> None:
    assert await _events(b"data: caf\xff\n\n") == [ServerSentEvent("caf\ufffd")]


async def test_a_multibyte_character_split_across_chunks_arrives_whole() -> None:
    raw = "data: café 😀 €\n\n".encode()
    for cut in range(1, len(raw)):
        assert await _events(raw[:cut], raw[cut:]) == [ServerSentEvent("café 😀 €")], cut
    # One byte per chunk: every character of the emoji arrives in its own chunk.
    assert await _events(*(raw[i : i + 1] for i in range(len(raw)))) == [ServerSentEvent("café 😀 €")]


async def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert await _events(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [
        ServerSentEvent("a"),
        ServerSentEvent("b"),
    ]


async def test_a_300_kib_data_line_comes_through_whole() -> None:
    payload = '{"arguments": "' + "é" * 40_000 + "x" * 227_200 + '"}'
    assert len(payload.encode()) >= 300 * 1024
    raw = f"data: {payload}\n\ndata: [DONE]\n\n".encode()
    expected = [ServerSentEvent(payload), ServerSentEvent("[DONE]")]
    assert await _events(raw) == expected
    # As a socket delivers it: in pieces that end anywhere, mid-character included.
    assert await _events(*_split(raw, range(4099, len(raw), 4099))) == expected


async def test_a_leading_byte_order_mark_is_dropped() -> None:
    assert await _events(b"\xef\xbb\xbfdata: x\n\n") == [ServerSentEvent("x")]
    assert await _events(b"\xef\xbb", b"\xbfdata: x") == [ServerSentEvent("x")]
    # Only at the very start of the stream.
    assert await _events(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent("a")]


async def test_an_8_mib_line_in_small_chunks_comes_through_whole() -> None:
    raw = b"data: " + b"x" * (8 * 1024 * 1024) + b"\n\n"
    [event] = await _events(*_split(raw, range(16_384, len(raw), 16_384)))
    assert len(event.data) == 8 * 1024 * 1024


_LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
_SOME_TEXT = st.sampled_from(["é", "😀", "€", "中", "\u0301", "a", " ", ":"])
_NAMES = st.one_of(st.none(), st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8))
_EVENTS = st.lists(
    st.tuples(_NAMES, st.lists(st.one_of(_LINE_TEXT, _SOME_TEXT), min_size=1, max_size=4)),
    max_size=5,
)


def _encode(
    events: list[tuple[str | None, list[str]]], newline: str, comments: bool, blank_end: bool
) -> bytes:
    out = []
    for i, (name, lines) in enumerate(events):
        if comments:
            out.append(f": comment {i} é{newline}")
        if name is not None:
            out.append(f"event: {name}{newline}")
        out.extend(f"data: {line}{newline}" for line in lines)
        if blank_end or i < len(events) - 1:
            out.append(newline)
    return "".join(out).encode()


@settings(max_examples=300, deadline=None)
@given(
    events=_EVENTS,
    newline=st.sampled_from(["\n", "\r\n"]),
    comments=st.booleans(),
    blank_end=st.booleans(),
    data=st.data(),
)
def test_any_chunking_of_a_stream_gives_the_same_events(
    events: list[tuple[str | None, list[str]]],
    newline: str,
    comments: bool,
    blank_end: bool,
    data: st.DataObject,
) -> None:
    raw = _encode(events, newline, comments, blank_end)
    expected = [ServerSentEvent("\n".join(lines), name) for name, lines in events]
    assert _parse(raw) == expected
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12), label="cuts")
    assert _parse(*_split(raw, cuts)) == expected
    # One byte per chunk splits every multi-byte character and every "\r\n".
    assert _parse(*_split(raw, range(1, len(raw)))) == expected
