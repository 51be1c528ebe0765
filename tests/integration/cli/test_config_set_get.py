"""`hermes config set KEY VALUE` / `config get KEY`: by dotted or environment name, validated as at start,
written where the key lives with comments and order kept, or refused with nothing written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.harness.gateway import HERMES

ENV_TEXT = (
    "# written by hand\nMATRIX_HOMESERVER=https://matrix.example.org\n\n# the bot\nOPENAI_API_KEY=sk-old\n"
)
YAML_TEXT = "# my model\nmodel:\n  provider: openai   # for now\n  default: gpt-4o\n"


def hermes(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATRIX_", "API_SERVER_", "OPENAI_"))}
    return subprocess.run(
        [HERMES, *args], env={**env, "HERMES_HOME": str(home)}, capture_output=True, text=True, timeout=30
    )


def make_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text(ENV_TEXT)
    (home / ".env").chmod(0o600)
    (home / "config.yaml").write_text(YAML_TEXT)
    return home


def test_set_puts_each_key_where_it_lives_keeping_comments_and_order(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    assert (
        hermes(home, "config", "set", "MATRIX_ALLOWED_USERS", "@a:example.org, @b:example.org").returncode
        == 0
    )
    assert hermes(home, "config", "set", "matrix.homeserver", "https://hs.example.org").returncode == 0
    assert hermes(home, "config", "set", "model.context_length", "32000").returncode == 0
    result = hermes(home, "config", "set", "OPENAI_API_KEY", "sk-new-key")
    assert result.returncode == 0
    assert result.stdout == f"provider_keys.openai_api_key set in {home / '.env'}\n"
    assert "sk-new-key" not in result.stdout + result.stderr
    assert (home / ".env").read_text() == (
        "# written by hand\nMATRIX_HOMESERVER=https://hs.example.org\n"
        "MATRIX_ALLOWED_USERS=@a:example.org,@b:example.org\n"
        "\n# the bot\nOPENAI_API_KEY=sk-new-key\n"
    )
    assert (home / "config.yaml").read_text() == (
        "# my model\nmodel:\n  provider: openai   # for now\n  default: gpt-4o\n  context_length: 32000\n"
    )
    assert (home / ".env").stat().st_mode & 0o777 == 0o600


def test_get_by_either_name_with_the_origin_on_stderr_and_secrets_masked(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    got = hermes(home, "config", "get", "MATRIX_HOMESERVER")
    assert (got.returncode, got.stdout) == (0, "https://matrix.example.org\n")
    assert got.stderr == "# matrix.homeserver [.env]\n"
    assert hermes(home, "config", "get", "model.default").stdout == "gpt-4o\n"
    assert hermes(home, "config", "get", "api_server.port").stdout == "8642\n"
    assert hermes(home, "config", "get", "provider_keys.openai_api_key").stdout == "********\n"
    assert hermes(home, "config", "get", "OPENAI_API_KEY", "--reveal").stdout == "sk-old\n"


def test_bad_values_and_names_are_refused_with_one_line_and_nothing_written(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    # An enabled API server checks its key at start, so `config set` checks it too.
    assert hermes(home, "config", "set", "API_SERVER_ENABLED", "true").returncode == 0
    env_text = (home / ".env").read_text()
    cases = [
        (("model.context_length", "12"), "config error: model.context_length = '12': "),
        (("MATRIX_REQUIRE_MENTION", "sometimes"), "matrix.require_mention = 'sometimes'"),
        (("API_SERVER_KEY", "tiny-key"), "api_server.key = (redacted)"),
        (
            ("MATRIX_ALOWED_USERS", "@a:b"),
            "MATRIX_ALOWED_USERS is not a setting; did you mean MATRIX_ALLOWED_USERS?",
        ),
        (("model.provder", "custom"), "model.provder is not a setting; did you mean model.provider?"),
    ]
    for args, message in cases:
        result = hermes(home, "config", "set", *args)
        assert result.returncode == 78, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
        assert "tiny-key" not in result.stderr
    assert (home / ".env").read_text() == env_text
    assert (home / "config.yaml").read_text() == YAML_TEXT


def test_if_unset_leaves_a_value_any_layer_gives(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / ".env").write_text(ENV_TEXT + "API_SERVER_ENABLED=false\n")
    result = hermes(home, "config", "set", "--if-unset", "API_SERVER_ENABLED", "true")
    assert result.returncode == 0
    assert result.stdout == "api_server.enabled is already set (in .env); left as it is\n"
    assert (home / ".env").read_text().endswith("API_SERVER_ENABLED=false\n")
