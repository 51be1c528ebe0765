"""Who the Discord bot answers, rule by rule, without a server."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from hermes.platforms.discord.addressing import (
    Policy,
    Situation,
    decide,
    in_scope,
    strip_mention,
    thread_name,
)
from hermes.platforms.discord.channels import Channels
from hermes.platforms.discord.rest import RestClient

BOT = "100"
BASE = Situation(
    bot_id=BOT,
    channel_id="7",
    is_dm=False,
    content="hello",
    mention_ids=frozenset(),
    mentions_others=False,
    channel_names=frozenset({"general"}),
)
MENTIONED = replace(BASE, content=f"<@{BOT}> hello", mention_ids=frozenset({BOT}))


def test_dms_are_always_addressed_and_never_threaded() -> None:
    verdict = decide(replace(BASE, is_dm=True), Policy())
    assert verdict.addressed and not verdict.start_thread


def test_a_mention_in_a_channel_is_addressed_and_starts_a_thread() -> None:
    verdict = decide(MENTIONED, Policy())
    assert verdict.addressed and verdict.mentioned and verdict.start_thread
    assert not decide(BASE, Policy()).addressed


@pytest.mark.parametrize("token", [f"<@{BOT}>", f"<@!{BOT}>"])
def test_a_raw_mention_token_counts_even_without_the_mentions_list(token: str) -> None:
    assert decide(replace(BASE, content=f"{token} hi"), Policy()).mentioned


def test_replies_free_channels_and_no_thread_channels_do_not_start_threads() -> None:
    assert not decide(replace(MENTIONED, is_reply=True), Policy()).start_thread
    assert not decide(MENTIONED, Policy(no_thread_channels=frozenset({"general"}))).start_thread
    assert not decide(MENTIONED, Policy(auto_thread=False)).start_thread
    free = decide(BASE, Policy(free_channels=frozenset({"7"})))
    assert free.addressed and not free.start_thread


def test_require_mention_off_answers_everything_in_the_channel() -> None:
    assert decide(BASE, Policy(require_mention=False)).addressed


def test_allowed_and_ignored_channels_count_a_thread_as_its_parent() -> None:
    in_thread = replace(MENTIONED, channel_id="9", thread_id="9", parent_id="7", channel_names=frozenset())
    assert decide(in_thread, Policy(allowed_channels=frozenset({"7"}))).addressed
    assert not decide(in_thread, Policy(allowed_channels=frozenset({"8"}))).addressed
    assert not decide(in_thread, Policy(ignored_channels=frozenset({"7"}))).addressed
    assert not decide(MENTIONED, Policy(ignored_channels=frozenset({"general"}))).addressed


def test_the_bots_thread_continues_without_a_mention_unless_configured() -> None:
    thread = replace(BASE, channel_id="9", thread_id="9", parent_id="7", bot_in_thread=True)
    assert decide(thread, Policy()).addressed
    assert not decide(thread, Policy(thread_require_mention=True)).addressed
    assert not decide(replace(thread, bot_in_thread=False), Policy()).addressed


def test_a_message_for_someone_else_is_not_for_the_bot_except_in_free_channels() -> None:
    other = replace(BASE, content="<@200> look", mention_ids=frozenset({"200"}), mentions_others=True)
    assert not decide(other, Policy(require_mention=False)).addressed
    assert decide(other, Policy(free_channels=frozenset({"7"}))).addressed


@pytest.mark.parametrize(
    ("mode", "mentioned", "expected"),
    [
        ("none", True, False),
        ("mentions", False, False),
        ("mentions", True, True),
        ("all", False, True),
    ],
)
def test_other_bots_per_allow_bots(mode: str, mentioned: bool, expected: bool) -> None:
    situation = replace(MENTIONED if mentioned else BASE, author_is_bot=True)
    assert decide(situation, Policy(require_mention=False, allow_bots=mode)).addressed is expected


def test_commands_are_addressed_without_a_mention() -> None:
    assert decide(replace(BASE, content="!help", is_command=True), Policy()).addressed


def test_the_mention_is_stripped_and_the_thread_named_from_the_rest() -> None:
    assert strip_mention(f"<@{BOT}>: what now?", BOT) == "what now?"
    assert strip_mention(f"ask <@!{BOT}> later", BOT) == "ask later"
    assert thread_name(f"<@{BOT}> plan the release for <@200>") == "plan the release for"
    assert len(thread_name("x" * 200)) == 80
    assert thread_name(f"<@{BOT}>") == "Hermes"


def test_the_catch_up_reads_only_channels_where_the_bot_may_answer() -> None:
    channels = Channels(RestClient("http://127.0.0.1:9/api/v10", "t"))
    channels.learn_guild(
        {
            "id": "1",
            "channels": [
                {"id": "7", "type": 0, "name": "general"},
                {"id": "8", "type": 0, "name": "random"},
                {"id": "6", "type": 2, "name": "voice"},
            ],
            "threads": [{"id": "9", "type": 11, "name": "topic", "parent_id": "7"}],
        }
    )
    assert sorted(channels.readable()) == ["7", "8", "9"]
    allowed = Policy(allowed_channels=frozenset({"general"}))
    assert sorted(channels.readable(partial(in_scope, allowed))) == ["7", "9"]
    ignored = Policy(ignored_channels=frozenset({"7"}))
    assert channels.readable(partial(in_scope, ignored)) == ["8"]
