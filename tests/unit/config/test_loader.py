from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from hermes.agent.providers.bedrock import BedrockSettings
from hermes.agent.tools.terminal import TerminalToolSettings
from hermes.config import ConfigError, load_config
from hermes.platforms.matrix.settings import MatrixSettings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {"HERMES_HOME": str(home), **extra}


LAYERS = ("config.yaml", ".env", ".env.d/10-a.env", ".env.d/20-b.env", "environment")


@pytest.mark.parametrize(
    "present",
    [combo for n in range(len(LAYERS) + 1) for combo in itertools.combinations(LAYERS, n)],
    ids=lambda combo: "+".join(combo) or "defaults",
)
def test_precedence_each_layer_overrides_the_ones_below(tmp_path: Path, present: tuple[str, ...]) -> None:
    ports = {layer: str(9000 + i) for i, layer in enumerate(LAYERS)}
    environ = env_for(tmp_path)
    for layer in present:
        if layer == "config.yaml":
            write(tmp_path / "config.yaml", f"api_server:\n  port: {ports[layer]}\n")
        elif layer == "environment":
            environ["API_SERVER_PORT"] = ports[layer]
        else:
            write(tmp_path / layer, f"API_SERVER_PORT={ports[layer]}\n")

    loaded = load_config(environ)

    winner = present[-1] if present else "default"
    expected = int(ports[winner]) if present else 8642
    assert loaded.value("api_server.port") == expected
    assert loaded.origins["api_server.port"] == winner


def test_dropins_apply_in_name_order_and_ignore_other_files(tmp_path: Path) -> None:
    write(tmp_path / ".env.d" / "20-late.env", "MATRIX_HOME_ROOM=!late\n")
    write(tmp_path / ".env.d" / "10-early.env", "MATRIX_HOME_ROOM=!early\n")
    write(tmp_path / ".env.d" / "99-notes.txt", "MATRIX_HOME_ROOM=!ignored\n")
    loaded = load_config(env_for(tmp_path))
    assert loaded.value("matrix.home_room") == "!late"
    assert loaded.origins["matrix.home_room"] == ".env.d/20-late.env"


def test_shell_quoting_in_env_files(tmp_path: Path) -> None:
    write(
        tmp_path / ".env",
        'MATTERMOST_TOKEN=\'a b#c\'\nMATRIX_PASSWORD="p\\"q"\nMATRIX_USER_ID=@bot:x # comment\n',
    )
    loaded = load_config(env_for(tmp_path))
    assert loaded.value("mattermost.token") == "a b#c"
    assert loaded.value("matrix.password") == 'p"q'
    assert loaded.value("matrix.user_id") == "@bot:x"


def test_env_lists_are_comma_separated_and_trimmed(tmp_path: Path) -> None:
    loaded = load_config(
        env_for(tmp_path, MATRIX_ALLOWED_USERS=" @a:x, @b:y ,,", MATRIX_FREE_RESPONSE_ROOMS="!r")
    )
    assert loaded.value("matrix.allowed_users") == ["@a:x", "@b:y"]
    assert loaded.value("matrix.free_response_rooms") == ["!r"]


def test_yaml_lists_and_nested_sections(tmp_path: Path) -> None:
    write(
        tmp_path / "config.yaml",
        "matrix:\n  allowed_users: ['@a:x']\n  require_mention: false\n"
        "group_sessions_per_user: false\ntools:\n  terminal:\n    enabled: true\n",
    )
    loaded = load_config(env_for(tmp_path))
    settings = loaded.settings
    assert loaded.value("matrix.allowed_users") == ["@a:x"]
    assert loaded.value("matrix.require_mention") is False
    assert settings.group_sessions_per_user is False
    assert loaded.value("tools.terminal.enabled") is True
    assert settings.section(TerminalToolSettings).timeout_seconds == 120.0


def test_empty_env_value_counts_as_unset(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "matrix:\n  home_room: '!fromyaml'\n")
    write(tmp_path / ".env", "MATRIX_HOME_ROOM=\n")
    loaded = load_config(env_for(tmp_path))
    assert loaded.value("matrix.home_room") == "!fromyaml"
    assert loaded.origins["matrix.home_room"] == "config.yaml"


def test_defaults_with_an_empty_home(tmp_path: Path) -> None:
    loaded = load_config(env_for(tmp_path / "nothing-here"))
    settings = loaded.settings
    assert loaded.value("api_server.host") == "127.0.0.1"
    assert loaded.value("api_server.port") == 8642
    assert loaded.value("matrix.require_mention") is True
    assert loaded.value("matrix.auto_thread") is True
    assert loaded.value("matrix.dm_mention_threads") is False
    assert loaded.value("mattermost.reply_mode") == "off"
    assert settings.group_sessions_per_user is True
    assert settings.agent.max_turns == 60
    assert settings.compression.threshold == 0.5
    assert settings.model.context_length == 128_000


def test_home_defaults_to_dot_hermes_in_the_user_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    loaded = load_config({})
    assert loaded.paths.home == tmp_path / ".hermes"


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        (
            ".env",
            "MATRIX_REQUIRE_MENTION=maybe\n",
            "matrix.require_mention = 'maybe' (from .env as MATRIX_REQUIRE_MENTION): allowed: true or false",
        ),
        (
            "config.yaml",
            "api_server:\n  port: 99999\n",
            "api_server.port = 99999 (from config.yaml): Input should be less than or equal to 65535",
        ),
        (
            "config.yaml",
            "matrix:\n  e2ee_mode: sometimes\n",
            "matrix.e2ee_mode = 'sometimes' (from config.yaml): "
            "Input should be 'off', 'optional' or 'required'",
        ),
        (
            ".env",
            "HERMES_INFERENCE_PROVIDER=gemini\n",
            "model.provider = 'gemini' (from .env as "
            "HERMES_INFERENCE_PROVIDER): Input should be 'anthropic', 'bedrock', 'custom', 'openai' "
            "or 'openrouter'",
        ),
        (
            "config.yaml",
            "model:\n  context_length: lots\n",
            "model.context_length = 'lots' (from config.yaml): Input should be a valid integer",
        ),
        ("config.yaml", "matrix: 5\n", "matrix = 5 (from config.yaml)"),
        ("config.yaml", "mattermost:\n  reply_mode: threads\n", "mattermost.reply_mode = 'threads'"),
        ("config.yaml", "compression:\n  threshold: 1.5\n", "compression.threshold = 1.5"),
    ],
)
def test_a_bad_value_names_key_value_origin_and_what_is_allowed(
    tmp_path: Path, where: str, text: str, expected: str
) -> None:
    write(tmp_path / where, text)
    with pytest.raises(ConfigError) as caught:
        load_config(env_for(tmp_path))
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"config error: {expected}")
    assert "\n" not in caught.value.problems[0]


def test_bad_secret_value_is_not_echoed(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "matrix:\n  access_token: [not, a, string]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(env_for(tmp_path))
    assert "not" not in caught.value.problems[0].split("(from")[0].replace("config error", "")
    assert "(redacted)" in caught.value.problems[0]


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path / ".env", "API_SERVER_PORT=-1\nMATRIX_AUTO_THREAD=perhaps\n")
    with pytest.raises(ConfigError) as caught:
        load_config(env_for(tmp_path))
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("matrix: [unclosed\n", "line 2"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("key: value\n\tbad: tab\n", "not valid YAML"),
    ],
)
def test_broken_yaml_names_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path / "config.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(env_for(tmp_path))
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)
    assert path.read_text() == text


def test_unreadable_env_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"KEY=\xff\xfe\n")
    with pytest.raises(ConfigError) as caught:
        load_config(env_for(tmp_path))
    assert str(tmp_path / ".env") in str(caught.value)


def test_empty_yaml_is_all_defaults(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "# nothing yet\n")
    loaded = load_config(env_for(tmp_path))
    assert loaded.settings.model.provider == "openrouter"
    assert loaded.warnings == []


def test_unknown_keys_give_one_warning_naming_them(tmp_path: Path) -> None:
    write(
        tmp_path / "config.yaml",
        "colour: blue\nmatrix:\n  require_mention: true\n  favourite_room: '!x'\n"
        "mcp_servers:\n  files:\n    command: npx\n    anything: goes\n",
    )
    loaded = load_config(env_for(tmp_path))
    assert loaded.warnings == ["config.yaml: unknown keys ignored: colour, matrix.favourite_room"]
    assert loaded.settings.mcp_servers == {"files": {"command": "npx", "anything": "goes"}}


def test_var_expansion_from_env_files_and_process(tmp_path: Path) -> None:
    write(tmp_path / ".env", "MY_MODEL=from-dotenv\n")
    write(
        tmp_path / "config.yaml",
        "model:\n  default: ${MY_MODEL}\n  base_url: http://${HOST}:11434\n"
        "matrix:\n  home_room: ${ROOM:-!fallback}\n  device_id: ${UNSET_DEVICE}\n",
    )
    loaded = load_config(env_for(tmp_path, HOST="gpu-box"))
    settings = loaded.settings
    assert settings.model.default == "from-dotenv"
    assert settings.model.base_url == "http://gpu-box:11434"
    assert loaded.value("matrix.home_room") == "!fallback"
    assert loaded.value("matrix.device_id") == "${UNSET_DEVICE}"
    assert loaded.warnings == ["config.yaml: ${VAR} left as written, not set: UNSET_DEVICE"]


def test_env_twin_with_two_names_prefers_the_first(tmp_path: Path) -> None:
    assert load_config(env_for(tmp_path, AWS_REGION="eu-west-1")).value("bedrock.region") == "eu-west-1"
    both = env_for(tmp_path, AWS_REGION="eu-west-1", AWS_DEFAULT_REGION="us-east-1")
    assert load_config(both).section(BedrockSettings).region == "us-east-1"


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "off"),
        ({"MATRIX_ENCRYPTION": "true"}, "required"),
        ({"MATRIX_ENCRYPTION": "true", "MATRIX_E2EE_MODE": "optional"}, "optional"),
        ({"MATRIX_E2EE_MODE": "required"}, "required"),
    ],
)
def test_e2ee_mode_from_either_variable(tmp_path: Path, env: dict[str, str], mode: str) -> None:
    assert load_config(env_for(tmp_path, **env)).section(MatrixSettings).effective_e2ee_mode == mode


def test_secret_values_lists_every_secret_in_force(tmp_path: Path) -> None:
    write(tmp_path / ".env", "API_SERVER_KEY=k" + "x" * 20 + "\nMATRIX_PASSWORD=hunter22\n")
    loaded = load_config(env_for(tmp_path, OPENAI_API_KEY="sk-abc123", GATEWAY_PROXY_KEY="proxy-secret"))
    assert set(loaded.secret_values()) == {"k" + "x" * 20, "hunter22", "sk-abc123", "proxy-secret"}


def test_commands_get_the_environment_without_secrets() -> None:
    from hermes.config.environment import command_environment

    env = command_environment(
        {
            "PATH": "/usr/bin",
            "HOME": "/home/bot",
            "LANG": "C.UTF-8",
            "OPENAI_API_KEY": "sk-1",
            "MATRIX_ACCESS_TOKEN": "syt",
            "MATTERMOST_URL": "https://mm",
            "GITHUB_TOKEN": "ghp",
            "DB_PASSWORD": "pw",
            "AWS_PROFILE": "prod",
            "HERMES_HOME": "/srv/hermes",
        }
    )
    assert env == {"PATH": "/usr/bin", "HOME": "/home/bot", "LANG": "C.UTF-8"}


def test_known_env_names_and_prefixes_cover_core_and_platform_settings() -> None:
    from hermes.config.loader import known_env_names
    from hermes.config.names import setting_prefixes

    names = known_env_names()
    assert {"MATRIX_HOMESERVER", "API_SERVER_KEY", "MATTERMOST_TOKEN", "GATEWAY_ALLOWED_USERS"} <= names
    prefixes = setting_prefixes()
    assert {"HERMES_", "GATEWAY_", "MATRIX_", "MATTERMOST_", "API_SERVER_"} <= set(prefixes)


FLEET_MANAGER_YAML = """\
model:
  provider: custom
  base_url: http://litellm.internal:4000/v1
  default: main-model
auxiliary:
  title_generation:
    model: small-model
  compression:
    provider: litellm
    base_url: http://litellm.internal:4000/v1
    api_key: sk-litellm-compression-0123
    model: summary-model
    context_length: 32000
  vision:
    provider: auto
    model: ""
plugins:
  enabled: [something]
"""


def test_the_fleet_managers_auxiliary_block_is_read(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", FLEET_MANAGER_YAML)
    loaded = load_config(env_for(tmp_path))
    auxiliary = loaded.settings.auxiliary
    assert auxiliary.title_generation.model == "small-model" and auxiliary.title_generation.enabled
    assert auxiliary.compression.provider == "litellm"
    assert auxiliary.compression.base_url == "http://litellm.internal:4000/v1"
    assert auxiliary.compression.model == "summary-model"
    assert auxiliary.compression.context_length == 32000
    # Known keys of the compatible system that are not implemented: one note, no warning.
    assert loaded.warnings == []
    assert loaded.notes == [
        "config.yaml: not implemented by this gateway, ignored: auxiliary.vision, plugins"
    ]


def test_an_auxiliary_api_key_is_a_secret(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", FLEET_MANAGER_YAML)
    assert "sk-litellm-compression-0123" in load_config(env_for(tmp_path)).secret_values()


def test_a_typo_under_auxiliary_is_still_warned_about(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "auxiliary:\n  compresion:\n    model: x\n")
    loaded = load_config(env_for(tmp_path))
    assert loaded.warnings == [
        "config.yaml: unknown keys ignored: auxiliary.compresion (did you mean auxiliary.compression?)"
    ]
    assert loaded.notes == []


def test_a_bad_auxiliary_context_length_names_the_key(tmp_path: Path) -> None:
    write(tmp_path / "config.yaml", "auxiliary:\n  compression:\n    context_length: 10\n")
    with pytest.raises(ConfigError) as error:
        load_config(env_for(tmp_path))
    assert "auxiliary.compression.context_length = 10" in error.value.problems[0]
