"""Registration, enabling, start-up validation and doctor lines of the API server platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import ConfigError, load_config
from hermes.platforms.api_server.platform import ApiServerPlatform, is_loopback
from hermes.platforms.base import ChatRef, registered
from tests.harness.gateway import write_home

GOOD = "3f9c2b7e8a1d4c6f0b5e"


def config_for(tmp_path: Path, api_server: dict, env: dict[str, str] | None = None, **environ: str):
    home = write_home(tmp_path / "home", config={"api_server": api_server}, env=env or {})
    return load_config({"HERMES_HOME": str(home), **environ})


def test_registered_and_enabled_by_setting(tmp_path: Path) -> None:
    assert registered()["api_server"] is ApiServerPlatform
    assert not ApiServerPlatform.enabled(config_for(tmp_path, {}))
    assert ApiServerPlatform.enabled(config_for(tmp_path, {}, API_SERVER_ENABLED="1"))


def test_create_takes_settings_and_allows_everyone(tmp_path: Path) -> None:
    config = config_for(
        tmp_path,
        {
            "enabled": True,
            "model_aliases": ["gpt-4o", "hermes-agent"],
            "model_routes": {"fast": {"model": "vendor/small"}},
            "max_concurrent_runs": 3,
        },
        {"API_SERVER_KEY": GOOD},
    )
    platform = ApiServerPlatform.create(config)
    assert platform.key == GOOD
    assert platform.access.allow_all
    models = platform.options.models
    assert list(models.cards(0)) == ["hermes-agent", "gpt-4o", "fast"]
    assert models.routed_model("fast") == "vendor/small"
    assert models.routed_model("gpt-4o") is None and models.routed_model(None) is None
    assert platform.options.max_concurrent_runs == 3
    assert platform.options.env_file == config.paths.env_file


def test_weak_key_in_config_yaml_names_it(tmp_path: Path) -> None:
    config = config_for(tmp_path, {"enabled": True, "key": "tiny"})
    with pytest.raises(ConfigError) as caught:
        ApiServerPlatform.create(config)
    [problem] = caught.value.problems
    assert problem.startswith("config error: api_server.key = (redacted) (from config.yaml): too short")


def test_weak_key_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    config = config_for(tmp_path, {"enabled": True}, API_SERVER_KEY="changeme")
    with pytest.raises(ConfigError, match=r"\(from environment as API_SERVER_KEY\)"):
        ApiServerPlatform.create(config)


async def test_doctor_lines(tmp_path: Path) -> None:
    [line] = await ApiServerPlatform.check(config_for(tmp_path, {"enabled": True}))
    assert line.ok and "generated" in line.label
    [line] = await ApiServerPlatform.check(config_for(tmp_path, {"enabled": True}, API_SERVER_KEY="changeme"))
    assert not line.ok and "changeme" not in line.line()
    [line] = await ApiServerPlatform.check(
        config_for(tmp_path, {"enabled": True, "host": "0.0.0.0"}, API_SERVER_KEY=GOOD)
    )
    assert line.ok and "reachable from the network" in line.label
    assert GOOD not in line.line()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("my-host.lan", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_send_is_refused(tmp_path: Path) -> None:
    platform = ApiServerPlatform.create(config_for(tmp_path, {"enabled": True}))
    with pytest.raises(LookupError):
        await platform.send(ChatRef("api_server", "x", "dm"), "hi", idempotency_key="k")


def test_model_routes_as_the_reference_reads_them(caplog: pytest.LogCaptureFixture) -> None:
    from hermes.platforms.api_server.models import routes_from

    routes = routes_from(
        {
            "fast": {"model": " vendor/small "},
            "broken": "not a mapping",
            "empty": {"provider": "openrouter"},
            "keyed": {"model": "vendor/big", "api_key": "k", "base_url": "https://x"},
        }
    )
    assert routes == {"fast": "vendor/small", "keyed": "vendor/big"}
    assert "model_routes.broken: no `model`" in caplog.text
    assert "model_routes.keyed: api_key, base_url not supported" in caplog.text
