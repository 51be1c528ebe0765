"""Who a post is for, where the answer goes, and what the agent reads."""

from __future__ import annotations

import pytest

from hermes.platforms.mattermost.addressing import (
    BotIdentity,
    Policy,
    Situation,
    decide,
    mentions_bot,
    mentions_everyone,
    strip_mention,
)

BOT = BotIdentity.from_user(
    {
        "id": "b" * 26,
        "username": "Hermes",
        "first_name": "Herm",
        "notify_props": {"mention_keys": "agent,Ops Bot"},
    }
)
FLAT = Policy(require_mention=True, free_channels=frozenset({"lounge", "f" * 26}), thread_replies=False)
THREADED = Policy(require_mention=True, free_channels=frozenset(), thread_replies=True)


def situation(text: str = "", channel_type: str = "O", **overrides: object) -> Situation:
    fields: dict[str, object] = {
        "post_id": "p" * 26,
        "channel_id": "c" * 26,
        "channel_name": "town-square",
        "channel_type": channel_type,
        "root_id": "",
        "text": text,
    }
    fields.update(overrides)
    return Situation(**fields)  # type: ignore[arg-type]


def test_identity_keywords_come_from_username_and_notify_props() -> None:
    assert BOT.keywords == {"@hermes", "agent", "ops bot"}
    with_first_name = BotIdentity.from_user(
        {"id": "x", "username": "h", "first_name": "Herm", "notify_props": {"first_name": "true"}}
    )
    assert "herm" in with_first_name.keywords


@pytest.mark.parametrize(
    "text",
    [
        "@hermes hi",
        "hi @HERMES",
        "@hermes: what now",
        "@hermes, please",
        "thanks @hermes.",
        "(@hermes)",
        "ask the agent",
        "> quoted @hermes still counts",
        "**@hermes** bold",
    ],
)
def test_mentions_the_server_counts(text: str) -> None:
    assert mentions_bot(text, BOT)


@pytest.mark.parametrize(
    "text",
    [
        "hermes without the at",
        "`@hermes` in code",
        "```\n@hermes in a block\n```",
        "mail me at x@hermes.org",
        "@hermes_fan is someone else",
        "@hermesbot is someone else",
        ":hermes: is an emoji",
        "",
    ],
)
def test_not_mentions(text: str) -> None:
    assert not mentions_bot(text, BOT)


def test_channel_wide_mentions() -> None:
    assert mentions_everyone("@channel standup in 5")
    assert mentions_everyone("heads up @here.")
    assert not mentions_everyone("`@all` in code")
    assert not mentions_everyone("@hermes alone")


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("@hermes what is 2+2?", "what is 2+2?"),
        ("@Hermes, sethome", "sethome"),
        ("@hermes: hi", "hi"),
        ("hey @hermes how are you", "hey how are you"),
        ("thanks @hermes.", "thanks ."),
        ("@hermes_fan stays", "@hermes_fan stays"),
        ("line one\n@hermes line two", "line one\nline two"),
    ],
)
def test_strip_mention(text: str, stripped: str) -> None:
    assert strip_mention(text, BOT) == stripped


def test_dms_are_always_addressed_and_stay_flat_in_thread_mode() -> None:
    verdict = decide(situation("anything", "D"), BOT, THREADED)
    assert verdict.addressed and verdict.thread_id is None


def test_a_reply_in_a_dm_thread_stays_in_that_thread() -> None:
    verdict = decide(situation("more", "D", root_id="r" * 26), BOT, THREADED)
    assert verdict.addressed and verdict.thread_id == "r" * 26


def test_channels_need_a_mention() -> None:
    assert not decide(situation("chatter"), BOT, FLAT).addressed
    verdict = decide(situation("@hermes hi"), BOT, FLAT)
    assert verdict.addressed and verdict.mentioned and verdict.thread_id is None


def test_thread_mode_starts_a_thread_on_the_mention() -> None:
    assert decide(situation("@hermes hi"), BOT, THREADED).thread_id == "p" * 26
    in_thread = decide(situation("@hermes hi", root_id="r" * 26), BOT, THREADED)
    assert in_thread.thread_id == "r" * 26


def test_the_servers_mention_verdict_counts_except_for_channel_wide_mentions() -> None:
    assert decide(situation("Herm, look", server_mentioned=True), BOT, FLAT).addressed
    assert not decide(situation("@channel lunch!", server_mentioned=True), BOT, FLAT).addressed
    assert decide(situation("@channel and @hermes", server_mentioned=True), BOT, FLAT).addressed


def test_group_messages_ignore_the_servers_everyone_is_mentioned_rule() -> None:
    assert not decide(situation("bob, lunch?", "G", server_mentioned=True), BOT, FLAT).addressed
    assert decide(situation("@hermes lunch?", "G", server_mentioned=True), BOT, FLAT).addressed


def test_free_channels_by_name_or_id_and_require_mention_off() -> None:
    assert decide(situation("hi", channel_name="lounge"), BOT, FLAT).addressed
    assert decide(situation("hi", channel_id="f" * 26), BOT, FLAT).addressed
    relaxed = Policy(require_mention=False, free_channels=frozenset(), thread_replies=False)
    verdict = decide(situation("hi"), BOT, relaxed)
    assert verdict.addressed and not verdict.mentioned


def test_a_reply_in_the_bots_thread_needs_no_mention() -> None:
    follow_up = situation("and then?", root_id="r" * 26, bot_in_thread=True)
    assert decide(follow_up, BOT, FLAT).addressed
    assert not decide(situation("and then?", root_id="r" * 26), BOT, FLAT).addressed


def test_commands_are_addressed_and_start_no_thread() -> None:
    verdict = decide(situation("/sethome", is_command=True), BOT, THREADED)
    assert verdict.addressed and verdict.thread_id is None
    bare = decide(situation("@hermes sethome", is_bare_command=True), BOT, THREADED)
    assert bare.addressed and bare.thread_id is None
