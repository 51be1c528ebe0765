"""Who the bot answers on Slack and where: the rules, without a server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hermes.platforms.slack.addressing import Bot, Policy, decide, ignored, strip_mention
from hermes.platforms.slack.catchup import Cursor
from hermes.platforms.slack.interactions import action_inbounds, command_text

BOT = Bot("UBOT", "BBOT")


def message(text: str, *, channel: str = "C1", kind: str = "channel", ts: str = "2.0", **extra: Any) -> dict:
    return {"type": "message", "channel": channel, "channel_type": kind, "text": text, "ts": ts, **extra}


def test_dms_are_always_addressed_and_stay_flat() -> None:
    v = decide(message("hi", channel="D1", kind="im"), BOT, Policy())
    assert (v.addressed, v.thread_id) == (True, None)
    v = decide(message("in a thread", channel="D1", kind="im", thread_ts="1.0"), BOT, Policy())
    assert (v.addressed, v.thread_id) == (True, "1.0")


def test_a_channel_mention_is_answered_in_a_thread_on_it() -> None:
    v = decide(message("<@UBOT> hi"), BOT, Policy())
    assert (v.addressed, v.mentioned, v.thread_id) == (True, True, "2.0")
    assert not decide(message("hi"), BOT, Policy()).addressed


def test_thread_follow_ups_unless_strict() -> None:
    reply = message("more", thread_ts="1.0")
    assert decide(reply, BOT, Policy(), bot_in_thread=True).thread_id == "1.0"
    assert decide(reply, BOT, Policy(), bot_in_thread=True).addressed
    assert not decide(reply, BOT, Policy(strict_mention=True), bot_in_thread=True).addressed
    assert not decide(reply, BOT, Policy(), bot_in_thread=False).addressed


def test_free_response_allowed_channels_and_require_mention() -> None:
    assert decide(message("hi"), BOT, Policy(free_channels=frozenset({"C1"}))).addressed
    assert decide(message("hi"), BOT, Policy(require_mention=False)).addressed
    outside = Policy(allowed_channels=frozenset({"C2"}))
    assert not decide(message("<@UBOT> hi"), BOT, outside).addressed
    # DMs are never filtered by the allowed channels
    assert decide(message("hi", channel="D1", kind="im"), BOT, outside).addressed


def test_mention_patterns() -> None:
    policy = Policy(patterns=(re.compile(r"\bhermes\b", re.IGNORECASE),))
    assert decide(message("Hermes, help"), BOT, policy).mentioned


def test_group_dms_obey_the_channel_rules() -> None:
    assert not decide(message("hi", channel="G1", kind="mpim"), BOT, Policy()).addressed


@pytest.mark.parametrize(
    ("event", "policy", "reason"),
    [
        (message("me", user="UBOT"), Policy(), "own message"),
        (message("me", bot_id="BBOT"), Policy(), "own message"),
        (message("beep", bot_id="BOTHER", user="UOTHER"), Policy(), "from a bot"),
        (message("beep", bot_id="BOTHER"), Policy(allow_bots="mentions"), "from a bot, no mention"),
        (message("edit", subtype="message_changed"), Policy(), "not a message"),
        (message("joined", subtype="channel_join"), Policy(), "not a message"),
    ],
)
def test_what_never_reaches_the_hub(event: dict, policy: Policy, reason: str) -> None:
    assert ignored(event, BOT, policy) == reason


def test_what_does() -> None:
    assert ignored(message("<@UBOT> beep", bot_id="BOTHER"), BOT, Policy(allow_bots="mentions")) is None
    assert ignored(message("beep", bot_id="BOTHER"), BOT, Policy(allow_bots="all")) is None
    assert ignored(message("a file", subtype="file_share"), BOT, Policy()) is None


def test_the_mention_is_stripped() -> None:
    assert strip_mention("<@UBOT>: what now?", BOT) == "what now?"


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/hermes", "new", "/new"),
        ("/hermes", "", "/help"),
        ("/hermes", "!model x", "/model x"),
        ("/new", "", "/new"),
    ],
)
def test_slash_commands_map_to_the_hub_commands(command: str, text: str, expected: str) -> None:
    assert command_text(command, text) == expected


@pytest.mark.parametrize("raw", [None, "", "not json", "[]", '{"ts": "x"}', '{"threads": [["C1"]]}', "42"])
def test_a_cursor_that_cannot_be_read_counts_as_none(raw: str | None) -> None:
    assert Cursor.decode(raw) is None


def test_a_cursor_round_trips_and_keeps_the_latest_threads() -> None:
    cursor = Cursor(1700000000.000123, [("C1", f"{n}.0") for n in range(150)])
    again = Cursor.decode(cursor.encode())
    assert again is not None and again.ts == cursor.ts
    assert again.threads == cursor.threads[-100:]


def test_an_approval_click_is_the_pressers_word_in_the_questions_thread() -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice"},
        "container": {"channel_id": "C1", "message_ts": "5.0", "thread_ts": "4.0"},
        "actions": [{"action_id": "hermes_deny", "action_ts": "6.0"}],
    }
    [inbound] = action_inbounds(payload)
    assert (inbound.text, inbound.sender_id, inbound.addressed) == ("no", "U1", False)
    assert (inbound.chat.chat_id, inbound.chat.thread_id) == ("C1", "4.0")


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"type": "view_submission"},
        {"type": "block_actions", "actions": [{"action_id": "hermes_approve"}]},
        {
            "type": "block_actions",
            "user": {"id": "U1"},
            "container": {"channel_id": "C1"},
            "actions": [{"action_id": "someone_elses_button"}],
        },
    ],
)
def test_other_interactions_are_nothing(payload: dict) -> None:
    assert action_inbounds(payload) == []
