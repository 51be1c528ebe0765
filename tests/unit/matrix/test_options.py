from __future__ import annotations

from pathlib import Path

import pytest

from hermes.config import ConfigError, LoadedConfig, load_config
from hermes.platforms.base import ChatRef
from hermes.platforms.matrix import MatrixPlatform
from hermes.platforms.matrix.options import MatrixOptions
from tests.harness.gateway import write_home


def config_for(tmp_path: Path, matrix: dict[str, object], **env: str) -> LoadedConfig:
    home = write_home(
        tmp_path,
        config={"matrix": matrix},
        env={"MATRIX_HOMESERVER": "https://matrix.example.org/", "MATRIX_ACCESS_TOKEN": "syt_x", **env},
    )
    return load_config({"HERMES_HOME": str(home)})


def test_settings_become_options(tmp_path: Path) -> None:
    config = config_for(
        tmp_path,
        {"free_response_rooms": ["!free"], "ignore_user_patterns": ["@bridge_.*:example.org"]},
        MATRIX_ALLOWED_USERS="@alice:example.org,@bob:example.org",
        MATRIX_HOME_ROOM="!home",
        MATRIX_AUTO_THREAD="false",
    )
    options = MatrixOptions.from_config(config)
    assert options.login.homeserver == "https://matrix.example.org"
    assert options.access.users == {"@alice:example.org", "@bob:example.org"}
    assert options.free_rooms == {"!free"} and not options.auto_thread and options.require_mention
    assert options.ignore_patterns[0].fullmatch("@bridge_1:example.org")
    assert options.state_dir == tmp_path.absolute() / "platforms" / "matrix"
    platform = MatrixPlatform.create(config)
    assert platform.default_home == ChatRef("matrix", "!home", "group")
    assert MatrixPlatform.enabled(config)


def test_without_credentials_matrix_is_not_enabled(tmp_path: Path) -> None:
    config = config_for(tmp_path, {}, MATRIX_ACCESS_TOKEN="")
    assert not MatrixPlatform.enabled(config)


def test_bad_values_stop_the_start_with_one_line_each_naming_the_key(tmp_path: Path) -> None:
    config = config_for(
        tmp_path, {"ignore_user_patterns": ["@ok:.*", "(unclosed"]}, MATRIX_HOMESERVER="matrix.org"
    )
    with pytest.raises(ConfigError) as raised:
        MatrixOptions.from_config(config)
    first, second = raised.value.problems
    assert "matrix.homeserver (MATRIX_HOMESERVER) is 'matrix.org'" in first
    assert "matrix.ignore_user_patterns has '(unclosed'" in second
