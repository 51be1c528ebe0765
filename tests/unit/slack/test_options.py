"""SLACK_* settings: the compatible system's names and defaults, and one clear line for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import ConfigError, load_config
from hermes.platforms.slack.options import SlackOptions
from hermes.platforms.slack.platform import SlackPlatform
from hermes.testing import contract_problems

BOT = "xoxb-1-2-abc"
APP = "xapp-1-A1-2-def"


def options(tmp_path: Path, **env: str) -> SlackOptions:
    config = load_config(
        {"HERMES_HOME": str(tmp_path), "SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, **env}
    )
    return SlackOptions.from_config(config)


def test_defaults_are_those_of_the_compatible_system(tmp_path: Path) -> None:
    o = options(tmp_path)
    assert o.api_url == "https://slack.com/api/"
    assert (o.require_mention, o.strict_mention, o.reactions, o.allow_bots) == (True, False, True, "none")
    assert not o.access.users and not o.access.allow_all
    assert o.home_channel is None and o.home_channel_name == ""


def test_the_fleet_managers_keys(tmp_path: Path) -> None:
    o = options(
        tmp_path,
        SLACK_ALLOWED_USERS="U01, U02",
        SLACK_HOME_CHANNEL="C0HOME",
        SLACK_HOME_CHANNEL_NAME="ops",
        SLACK_API_URL="http://127.0.0.1:9/api",
    )
    assert o.access.users == frozenset({"U01", "U02"})
    assert (o.home_channel, o.home_channel_name) == ("C0HOME", "ops")
    assert o.api_url == "http://127.0.0.1:9/api/"
    platform = SlackPlatform(o)
    assert platform.default_home is not None and platform.default_home.chat_id == "C0HOME"


def test_only_the_first_of_several_bot_tokens_is_used(tmp_path: Path) -> None:
    assert options(tmp_path, SLACK_BOT_TOKEN=f"{BOT},xoxb-second").bot_token == BOT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["hermes", "hey bot"]', ["hermes", "hey bot"]),
        ("hermes,hey bot", ["hermes", "hey bot"]),
        ("hermes\nhey bot", ["hermes", "hey bot"]),
    ],
)
def test_mention_patterns_as_json_commas_or_lines(tmp_path: Path, raw: str, expected: list[str]) -> None:
    assert [p.pattern for p in options(tmp_path, SLACK_MENTION_PATTERNS=raw).mention_patterns] == expected


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-not-an-app-token"}, "SLACK_APP_TOKEN"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"SLACK_MENTION_PATTERNS": "(unclosed"}, "SLACK_MENTION_PATTERNS"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as err:
        options(tmp_path, **env)
    assert len(err.value.problems) == 1 and named in err.value.problems[0]


@pytest.mark.parametrize(
    ("key", "value"), [("SLACK_ALLOW_BOTS", "sometimes"), ("SLACK_REQUIRE_MENTION", "maybe")]
)
def test_values_outside_their_type_stop_the_loader(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"HERMES_HOME": str(tmp_path), "SLACK_BOT_TOKEN": BOT, key: value})
    assert any(key in p for p in err.value.problems)


def test_enabled_by_the_bot_token(tmp_path: Path) -> None:
    assert not SlackPlatform.enabled(load_config({"HERMES_HOME": str(tmp_path)}))
    assert SlackPlatform.enabled(load_config({"HERMES_HOME": str(tmp_path), "SLACK_BOT_TOKEN": BOT}))


def test_the_platform_keeps_the_package_contract() -> None:
    assert contract_problems(SlackPlatform) == []
