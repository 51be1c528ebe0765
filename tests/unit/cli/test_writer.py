"""Where each setting is written, what the diff shows, and what loading the planned files says."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from hermes.config import HermesPaths, load_config
from hermes.config.writer import MASK, WriteError, check_plan, plan_changes


def home(tmp_path: Path, env: str | None = None, config: str | None = None) -> HermesPaths:
    root = tmp_path / "home"
    root.mkdir()
    if env is not None:
        (root / ".env").write_text(env)
        (root / ".env").chmod(0o600)
    if config is not None:
        (root / "config.yaml").write_text(config)
        (root / "config.yaml").chmod(0o640)
    return HermesPaths(root)


def test_a_fresh_home_gets_model_in_config_yaml_and_the_rest_in_env(tmp_path: Path) -> None:
    paths = home(tmp_path)
    plan = plan_changes(
        paths,
        {
            "model.provider": "openrouter",
            "model.default": "some/model",
            "provider_keys.openrouter_api_key": "sk-or-secret-1",
            "matrix.homeserver": "https://m.example.org",
            "matrix.allowed_users": ["@a:x.org", "@b:x.org"],
            "matrix.require_mention": False,
            "api_server.port": 9000,
        },
    )
    assert plan.env.before is None and plan.yaml.before is None
    assert plan.env.after == (
        "OPENROUTER_API_KEY=sk-or-secret-1\n"
        "MATRIX_HOMESERVER=https://m.example.org\n"
        "MATRIX_ALLOWED_USERS=@a:x.org,@b:x.org\n"
        "MATRIX_REQUIRE_MENTION=false\n"
        "API_SERVER_PORT=9000\n"
    )
    assert yaml.safe_load(plan.yaml.after) == {"model": {"provider": "openrouter", "default": "some/model"}}
    plan.write()
    assert stat.S_IMODE(paths.env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.config_file.stat().st_mode) == 0o600
    loaded = load_config({"HERMES_HOME": str(paths.home)})
    assert loaded.value("matrix.allowed_users") == ["@a:x.org", "@b:x.org"]
    assert loaded.value("matrix.require_mention") is False
    assert loaded.value("provider_keys.openrouter_api_key") == "sk-or-secret-1"


def test_a_key_is_changed_where_it_already_lives(tmp_path: Path) -> None:
    paths = home(
        tmp_path,
        env="HERMES_INFERENCE_PROVIDER=openrouter\nAWS_REGION=eu-west-1\n",
        config="matrix:\n  homeserver: https://old.example.org  # ours\n",
    )
    plan = plan_changes(
        paths,
        {"model.provider": "custom", "bedrock.region": "us-east-1", "matrix.homeserver": "https://new.org"},
    )
    assert plan.env.after == "HERMES_INFERENCE_PROVIDER=custom\nAWS_REGION=us-east-1\n"
    assert plan.yaml.after == "matrix:\n  homeserver: https://new.org  # ours\n"


def test_a_secret_in_config_yaml_moves_to_env(tmp_path: Path) -> None:
    paths = home(tmp_path, config="mattermost:\n  url: https://mm.x\n  token: old-token-123\n")
    plan = plan_changes(paths, {"mattermost.token": "new-token-456"})
    assert plan.yaml.after == "mattermost:\n  url: https://mm.x\n"
    assert plan.env.after == "MATTERMOST_TOKEN=new-token-456\n"


def test_a_secret_without_an_environment_name_is_referred_to_from_config_yaml(tmp_path: Path) -> None:
    paths = home(tmp_path)
    plan = plan_changes(paths, {"model.provider": "custom", "model.api_key": "sk-local-789"})
    assert plan.env.after == "HERMES_MODEL_API_KEY=sk-local-789\n"
    assert yaml.safe_load(plan.yaml.after)["model"]["api_key"] == "${HERMES_MODEL_API_KEY}"
    plan.write()
    loaded = load_config({"HERMES_HOME": str(paths.home)})
    assert loaded.settings.model.api_key == "sk-local-789"
    assert "sk-local-789" not in paths.config_file.read_text()


def test_none_removes_a_key_from_both_files_under_every_name(tmp_path: Path) -> None:
    paths = home(
        tmp_path,
        env="MATRIX_PASSWORD=pw-1234\nHERMES_MODEL_API_KEY=k-1234\nOTHER=1\n",
        config="model:\n  api_key: ${HERMES_MODEL_API_KEY}\n  default: m\nmatrix:\n  password: pw\n",
    )
    plan = plan_changes(paths, {"matrix.password": None, "model.api_key": None})
    assert plan.env.after == "OTHER=1\n"
    assert plan.yaml.after == "model:\n  default: m\n"


def test_unchanged_answers_make_no_change(tmp_path: Path) -> None:
    env = "# mine\nMATRIX_HOMESERVER='https://m.org'\n"
    config = "model:\n  provider: custom   # local\n"
    paths = home(tmp_path, env=env, config=config)
    plan = plan_changes(paths, {"matrix.homeserver": "https://m.org", "model.provider": "custom"})
    assert not plan.changed
    assert plan.diff() == ""


def test_the_diff_masks_every_secret_even_in_context_lines(tmp_path: Path) -> None:
    paths = home(
        tmp_path,
        env="ANTHROPIC_API_KEY=sk-ant-unrelated-secret\nMATRIX_ACCESS_TOKEN=syt_old_token\n",
        config="model:\n  api_key: literal-secret-in-yaml\n",
    )
    plan = plan_changes(paths, {"matrix.access_token": "syt_new_token", "matrix.homeserver": "https://m.org"})
    diff = plan.diff()
    for secret in ("sk-ant-unrelated-secret", "syt_old_token", "syt_new_token", "literal-secret-in-yaml"):
        assert secret not in diff
    assert f"-MATRIX_ACCESS_TOKEN={MASK}" in diff and f"+MATRIX_ACCESS_TOKEN={MASK}" in diff
    assert f"ANTHROPIC_API_KEY={MASK}" in diff


def test_an_existing_config_yaml_keeps_its_mode(tmp_path: Path) -> None:
    paths = home(tmp_path, config="colour: blue\n")
    plan_changes(paths, {"model.default": "m"}).write()
    assert stat.S_IMODE(paths.config_file.stat().st_mode) == 0o640
    assert paths.config_file.read_text() == "colour: blue\nmodel:\n  default: m\n"
    assert [p.name for p in paths.home.iterdir() if p.name.endswith(".tmp")] == []


def test_an_unknown_key_and_a_broken_config_yaml_are_refused(tmp_path: Path) -> None:
    paths = home(tmp_path, config="model: [broken\n")
    with pytest.raises(ValueError, match="not a setting"):
        plan_changes(paths, {"model.colour": "blue"})
    with pytest.raises(WriteError, match="not valid YAML"):
        plan_changes(paths, {"model.default": "m"})
    assert paths.config_file.read_text() == "model: [broken\n"


def test_check_plan_names_what_would_stop_the_daemon(tmp_path: Path) -> None:
    paths = home(tmp_path, env="MATRIX_REQUIRE_MENTION=sometimes\n")
    plan = plan_changes(paths, {"matrix.homeserver": "https://m.org"})
    verdict = check_plan(plan, environ={})
    assert verdict.problems == [
        "config error: matrix.require_mention = 'sometimes' (from .env as MATRIX_REQUIRE_MENTION): "
        "allowed: true or false"
    ]
    assert paths.env_file.read_text() == "MATRIX_REQUIRE_MENTION=sometimes\n"


def test_check_plan_warns_when_a_higher_layer_hides_the_new_value(tmp_path: Path) -> None:
    paths = home(tmp_path)
    (paths.home / ".env.d").mkdir()
    (paths.home / ".env.d" / "fleet.env").write_text("MATRIX_HOMESERVER=https://fleet.org\n")
    plan = plan_changes(paths, {"matrix.homeserver": "https://m.org", "mattermost.url": "https://mm.org"})
    verdict = check_plan(plan, environ={"MATTERMOST_URL": "https://shell.org"})
    assert verdict.problems == []
    assert verdict.shadowed == [
        "matrix.homeserver: MATRIX_HOMESERVER in .env.d/fleet.env overrides what was written",
        "mattermost.url: MATTERMOST_URL in the environment of this shell overrides what was written",
    ]
