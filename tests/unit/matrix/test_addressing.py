from __future__ import annotations

import re
from typing import Any

import pytest

from hermes.platforms.matrix.addressing import (
    BotIdentity,
    Situation,
    Verdict,
    decide,
    ignored_sender,
    is_edit,
    mentions_bot,
    strip_mention,
    strip_reply_fallback,
    thread_root,
)

BOT = BotIdentity("@hermes:example.org", "Hermes Bot")
PLAIN_BOT = BotIdentity("@hermes:example.org")


def message(body: str, **extra: Any) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body, **extra}


# -- mentions -------------------------------------------------------------------------------------------


def test_m_mentions_is_authoritative_when_present() -> None:
    assert mentions_bot(message("hi", **{"m.mentions": {"user_ids": [BOT.user_id]}}), BOT)
    # The name in the text does not count when the client said whom it mentions.
    assert not mentions_bot(message("hermes, hi", **{"m.mentions": {}}), BOT)
    assert not mentions_bot(message(f"{BOT.user_id} hi", **{"m.mentions": {"user_ids": ["@bob:x"]}}), BOT)


def test_malformed_m_mentions_is_not_a_mention() -> None:
    assert not mentions_bot(message("hermes hi", **{"m.mentions": {"user_ids": "@hermes:example.org"}}), BOT)


@pytest.mark.parametrize(
    "body",
    [
        "@hermes:example.org what time is it?",
        "hey @HERMES:example.org",
        "hermes: what time is it?",
        "what do you think, Hermes?",
        "Hermes Bot, status please",
        "ping @hermes",
    ],
)
def test_legacy_clients_are_read_by_their_text(body: str) -> None:
    assert mentions_bot(message(body), BOT)


@pytest.mark.parametrize("body", ["hermeses are gods", "the hermes-agent project", "email x@hermes.org", ""])
def test_words_that_merely_contain_the_name_are_not_mentions(body: str) -> None:
    assert not mentions_bot(message(body), PLAIN_BOT)


def test_a_matrix_to_link_in_html_is_a_mention_even_url_encoded() -> None:
    link = '<a href="https://matrix.to/#/%40hermes%3Aexample.org">Bot</a> hi'
    assert mentions_bot(message("Bot hi", format="org.matrix.custom.html", formatted_body=link), PLAIN_BOT)
    other = '<a href="https://matrix.to/#/@bob:example.org">Bob</a> hi'
    assert not mentions_bot(message("Bob hi", formatted_body=other), PLAIN_BOT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@hermes:example.org what time is it?", "what time is it?"),
        ("hermes: what time is it?", "what time is it?"),
        ("Hermes Bot, status please", "status please"),
        ("ask @hermes about https://x.org", "ask  about https://x.org"),
        ("https://matrix.to/#/@hermes:example.org hello", "hello"),
        ("what does hermes think?", "what does hermes think?"),
        ("@hermes:example.org", ""),
    ],
)
def test_the_mention_is_stripped_from_what_the_agent_reads(text: str, expected: str) -> None:
    assert strip_mention(text, BOT) == expected


# -- relations --------------------------------------------------------------------------------------------


def test_thread_root_and_edit_detection() -> None:
    threaded = message("x", **{"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}})
    edit = message("* x", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}})
    reply = message("x", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}})
    assert thread_root(threaded) == "$root"
    assert thread_root(reply) is None and thread_root(message("x")) is None
    assert is_edit(edit) and not is_edit(threaded)
    assert thread_root(message("x", **{"m.relates_to": "garbage"})) is None


def test_reply_fallback_is_removed_only_from_replies() -> None:
    body = "> <@alice:x> the question\n> second line\n\nmy answer"
    reply = message(body, **{"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}})
    assert strip_reply_fallback(reply, body) == "my answer"
    assert strip_reply_fallback(message(body), body) == body
    thread_fallback = {"m.relates_to": {"rel_type": "m.thread", "is_falling_back": True, "m.in_reply_to": {}}}
    assert strip_reply_fallback(message(body, **thread_fallback), body) == body


# -- the verdict ------------------------------------------------------------------------------------------


def situation(**overrides: Any) -> Situation:
    values: dict[str, Any] = {"event_id": "$ev", "is_dm": False, "mentioned": False}
    values.update(overrides)
    return Situation(**values)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"is_dm": True}, Verdict(True, None)),
        ({"is_dm": True, "mentioned": True}, Verdict(True, None)),
        ({"is_dm": True, "mentioned": True, "dm_mention_threads": True}, Verdict(True, "$ev")),
        ({"is_dm": True, "thread_root": "$t"}, Verdict(True, "$t")),
        ({}, Verdict(False, None)),
        ({"mentioned": True}, Verdict(True, "$ev")),
        ({"mentioned": True, "auto_thread": False}, Verdict(True, None)),
        ({"free_room": True}, Verdict(True, "$ev")),
        ({"require_mention": False, "auto_thread": False}, Verdict(True, None)),
        ({"thread_root": "$t"}, Verdict(False, "$t")),
        ({"thread_root": "$t", "bot_in_thread": True}, Verdict(True, "$t")),
        ({"thread_root": "$t", "mentioned": True}, Verdict(True, "$t")),
        ({"mentioned": True, "is_command": True}, Verdict(True, None)),
        ({"thread_root": "$t", "mentioned": True, "is_command": True}, Verdict(True, "$t")),
    ],
)
def test_decide(overrides: dict[str, Any], expected: Verdict) -> None:
    assert decide(situation(**overrides)) == expected


def test_ignored_users_match_whole_ids() -> None:
    patterns = (re.compile(r"@.*bot:example\.org"), re.compile(r"@telegram_\d+:.*"))
    assert ignored_sender("@otherbot:example.org", patterns)
    assert ignored_sender("@telegram_42:bridge.org", patterns)
    assert not ignored_sender("@otherbot:example.org.evil", patterns)
    assert not ignored_sender("@alice:example.org", patterns)
