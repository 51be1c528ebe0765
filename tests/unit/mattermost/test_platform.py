"""Settings, registration, `hermes doctor` lines and send keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hermes.config import ConfigError, LoadedConfig, load_config
from hermes.platforms.base import ChatRef, registered
from hermes.platforms.mattermost import MattermostPlatform
from hermes.platforms.mattermost.options import MattermostOptions, base_url, websocket_url
from hermes.platforms.mattermost.platform import pending_post_id
from tests.fakes.mattermost import MattermostEmulator


def config(tmp_path: Path, **env: str) -> LoadedConfig:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return load_config({"HERMES_HOME": str(home), **env})


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


def test_registered_and_enabled_only_with_url_and_token(tmp_path: Path) -> None:
    assert registered()["mattermost"] is MattermostPlatform
    assert not MattermostPlatform.enabled(config(tmp_path))
    assert not MattermostPlatform.enabled(config(tmp_path, MATTERMOST_URL="https://mm.example.com"))
    assert MattermostPlatform.enabled(
        config(tmp_path, MATTERMOST_URL="https://mm.example.com", MATTERMOST_TOKEN="t")
    )


def test_settings_as_the_adapter_uses_them(tmp_path: Path) -> None:
    loaded = config(
        tmp_path,
        MATTERMOST_URL="https://mm.example.com/api/v4/",
        MATTERMOST_TOKEN=" tok ",
        MATTERMOST_ALLOWED_USERS="u1,u2",
        MATTERMOST_HOME_CHANNEL="c" * 26,
        MATTERMOST_REPLY_MODE="thread",
        MATTERMOST_REQUIRE_MENTION="false",
        MATTERMOST_FREE_RESPONSE_CHANNELS="lounge, c2",
    )
    platform = MattermostPlatform.create(loaded)
    options = platform.options
    assert (options.url, options.token, options.ws_url) == (
        "https://mm.example.com",
        "tok",
        "wss://mm.example.com/api/v4/websocket",
    )
    assert options.access.users == {"u1", "u2"} and not options.access.allow_all
    assert platform.default_home == ChatRef("mattermost", "c" * 26, "channel")
    assert options.thread_replies and not options.require_mention
    assert options.free_response_channels == {"lounge", "c2"}
    assert options.media_dir == loaded.paths.media_cache / "mattermost"
    assert platform.max_message_chars == 16_383


def test_a_bad_url_stops_the_start_with_the_setting_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        MattermostOptions.from_config(config(tmp_path, MATTERMOST_URL="mm.example.com", MATTERMOST_TOKEN="t"))
    assert "MATTERMOST_URL" in str(error.value) and "'mm.example.com'" in str(error.value)


def test_urls() -> None:
    assert base_url("http://h:8065/") == "http://h:8065"
    assert base_url("http://h:8065/api/v4") == "http://h:8065"
    assert websocket_url("http://h:8065") == "ws://h:8065/api/v4/websocket"
    assert websocket_url("https://h/mm") == "wss://h/mm/api/v4/websocket"


def test_pending_post_ids_are_the_key_behind_the_bot_id_and_stay_short() -> None:
    assert pending_post_id("b" * 26, "p" * 26 + ":0") == "b" * 26 + ":" + "p" * 26 + ":0"
    long = pending_post_id("b" * 26, "x" * 200)
    assert long.startswith("b" * 26 + ":") and len(long) <= 64
    assert long != pending_post_id("b" * 26, "x" * 199)


async def test_doctor_signs_in_live(mm: MattermostEmulator, tmp_path: Path) -> None:
    _, token = mm.create_bot("hermes")
    good = config(tmp_path, MATTERMOST_URL=mm.url, MATTERMOST_TOKEN=token, MATTERMOST_ALLOWED_USERS="u1")
    [ok] = await MattermostPlatform.check(good)
    assert ok.ok and "@hermes" in ok.label
    refused, nobody = await MattermostPlatform.check(
        config(tmp_path, MATTERMOST_URL=mm.url, MATTERMOST_TOKEN="x")
    )
    assert not refused.ok and "refuses MATTERMOST_TOKEN" in refused.label and refused.fix
    assert not nobody.ok and "MATTERMOST_ALLOWED_USERS" in (nobody.fix or "")


async def test_doctor_reports_an_unreachable_server(tmp_path: Path) -> None:
    [check, _] = await MattermostPlatform.check(
        config(tmp_path, MATTERMOST_URL="http://127.0.0.1:9", MATTERMOST_TOKEN="t")
    )
    assert not check.ok and "cannot reach http://127.0.0.1:9" in check.label
