"""The driver's pure parts: errors as discord.py words them, rate-limit bookkeeping, the cursor, the nonce,
and settings errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import ConfigError, load_config
from hermes.platforms.base import ChatRef, CredentialsRejected, StartRefused
from hermes.platforms.discord.catchup import Cursor, snowflake_at, snowflake_ms
from hermes.platforms.discord.gateway import GatewayRefused
from hermes.platforms.discord.options import DiscordOptions
from hermes.platforms.discord.outbound import nonce_for, replied_message
from hermes.platforms.discord.platform import DiscordPlatform
from hermes.platforms.discord.refusals import refusal
from hermes.platforms.discord.rest import DiscordError, RateLimits, RestClient
from tests.harness.gateway import write_home


def test_errors_read_like_discord_py_with_field_errors() -> None:
    errors = {
        "content": {
            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
        }
    }
    text = str(DiscordError(400, 50035, "Invalid Form Body", errors))
    assert text == (
        "400 Bad Request (error code: 50035): Invalid Form Body\nIn content: Must be 2000 or fewer in length."
    )


async def test_a_spent_bucket_waits_for_its_reset_and_routes_learn_their_bucket() -> None:
    now = [100.0]
    limits = RateLimits(clock=lambda: now[0])
    bucket = limits.bucket("POST /channels/{channel_id}/messages", "1")
    limits.learn(
        "POST /channels/{channel_id}/messages",
        "1",
        bucket,
        {"X-RateLimit-Bucket": "abc", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "2.5"},
    )
    assert bucket.remaining == 0 and bucket.reset_at == 102.5
    assert limits.bucket("POST /channels/{channel_id}/messages", "1") is bucket
    assert limits.bucket("POST /channels/{channel_id}/messages", "2") is not bucket


def test_the_cursor_round_trips_and_moves_forward_only() -> None:
    cursor = Cursor(10)
    assert cursor.advance("a", 20) and cursor.last == 20
    assert not cursor.advance("a", 15)
    assert Cursor.parse(cursor.encode()) == cursor
    assert Cursor.parse("not json") is None and Cursor.parse(None) is None


def test_snowflakes_convert_both_ways() -> None:
    ms = 1_700_000_000_000
    assert snowflake_ms(snowflake_at(ms)) == ms


def test_nonces_fit_discords_25_characters_and_are_stable() -> None:
    assert nonce_for("x" * 300) == nonce_for("x" * 300)
    assert len(nonce_for("x" * 300)) == 25 and nonce_for("a:0") != nonce_for("a:1")


def _config(tmp_path: Path, **env: str):
    home = write_home(tmp_path / "home", env=env)
    return load_config({"HERMES_HOME": str(home)})


def test_the_fleet_managers_keys_are_read(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        DISCORD_BOT_TOKEN="tok",
        DISCORD_ALLOWED_USERS="1, <@2>,user:3",
        DISCORD_ALLOWED_CHANNELS="",
        DISCORD_REQUIRE_MENTION="false",
        DISCORD_ALLOW_ALL_USERS="true",
        DISCORD_HOME_CHANNEL="55",
        DISCORD_HOME_CHANNEL_THREAD_ID="66",
    )
    assert DiscordPlatform.enabled(config)
    platform = DiscordPlatform.create(config)
    assert platform.access.users == frozenset({"1", "2", "3"}) and platform.access.allow_all
    assert platform.conf.allowed_channels == [] and platform.conf.require_mention is False
    assert platform.default_home is not None
    assert (platform.default_home.chat_id, platform.default_home.thread_id) == ("55", "66")
    assert platform.options.api_url == "https://discord.com/api/v10"


def test_without_a_token_discord_is_off(tmp_path: Path) -> None:
    assert not DiscordPlatform.enabled(_config(tmp_path, DISCORD_ALLOWED_USERS="1"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DISCORD_REQUIRE_MENTION", "sometimes"),
        ("DISCORD_ALLOW_BOTS", "some"),
        ("DISCORD_MAX_ATTACHMENT_BYTES", "-1"),
    ],
)
def test_a_bad_value_names_the_key(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, DISCORD_BOT_TOKEN="tok", **{key: value})
    assert any(key in problem for problem in caught.value.problems)


def test_a_bad_api_url_names_the_key(tmp_path: Path) -> None:
    config = _config(tmp_path, DISCORD_BOT_TOKEN="tok", DISCORD_API_URL="discord.com")
    with pytest.raises(ConfigError) as caught:
        DiscordOptions.from_config(config)
    assert "DISCORD_API_URL" in caught.value.problems[0]


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        (4004, CredentialsRejected, "DISCORD_BOT_TOKEN"),
        (4013, StartRefused, "4013"),
    ],
)
async def test_gateway_refusals_become_one_clear_reason(code: int, kind: type, words: str) -> None:
    reason = await refusal(RestClient("http://127.0.0.1:9/api/v10", "t"), GatewayRefused(code))
    assert isinstance(reason, kind) and words in str(reason)


def test_the_replied_message_comes_from_the_chunk_key() -> None:
    dm = ChatRef("discord", "5", "dm")
    trigger = "1579448053994225666"
    assert replied_message(dm, f"{trigger}:0", "first") == trigger
    assert replied_message(dm, f"{trigger}:1", "first") is None
    assert replied_message(dm, f"{trigger}:1", "all") == trigger
    assert replied_message(dm, f"{trigger}:0", "off") is None
    assert replied_message(dm, f"{trigger}:denied", "all") is None
    assert replied_message(dm, "job-3f2a:0", "all") is None
    started = ChatRef("discord", "5", "channel", trigger)  # the thread the trigger started
    assert replied_message(started, f"{trigger}:0", "first") is None
