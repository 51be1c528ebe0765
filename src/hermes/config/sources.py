"""Reading the raw layers: config.yaml, .env, .env.d/*.env. No validation here, only parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from hermes.config.errors import ConfigError

ENVIRONMENT = "environment"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class EnvLayer:
    """One source of environment-style keys; `origin` is what `config show` prints for it."""

    origin: str
    values: Mapping[str, str]


def _read_text(path: Path) -> str | None:
    """The file's text, or None when there is no such file."""
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path} is not UTF-8 text"]) from None


def read_env_file(path: Path, origin: str) -> EnvLayer:
    text = _read_text(path)
    if text is None:
        return EnvLayer(origin, {})
    from io import StringIO

    parsed = dotenv_values(stream=StringIO(text), interpolate=False)
    return EnvLayer(origin, {key: value for key, value in parsed.items() if value is not None})


def env_layers(env_file: Path, dropins: Path, process_env: Mapping[str, str]) -> list[EnvLayer]:
    """Lowest priority first: .env, then .env.d/*.env in name order, then the process environment."""
    layers: list[EnvLayer] = [read_env_file(env_file, ".env")]
    try:
        dropin_files = sorted(dropins.glob("*.env")) if dropins.is_dir() else []
    except OSError as exc:
        raise ConfigError([f"cannot read {dropins}: {exc.strerror}"]) from None
    for path in dropin_files:
        layers.append(read_env_file(path, f".env.d/{path.name}"))
    layers.append(EnvLayer(ENVIRONMENT, process_env))
    return layers


def read_yaml(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    if text is None:
        return {}
    try:
        loaded = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}{where}: not valid YAML ({exc.problem})"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys, not {type(loaded).__name__}"])
    return loaded


def expand_vars(
    value: Any, environ: Mapping[str, str], missing: set[str], used: set[str] | None = None
) -> Any:
    """`${VAR}` and `${VAR:-default}` in every string of a YAML tree. An unset VAR without a default is
    left as written and reported through `missing`, so a typo shows up instead of becoming empty; every
    name referred to goes into `used`."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if used is not None:
                used.add(name)
            if name in environ and environ[name] != "":
                return environ[name]
            if default is not None:
                return default
            missing.add(name)
            return match.group(0)

        return _VAR.sub(substitute, value)
    if isinstance(value, dict):
        return {key: expand_vars(item, environ, missing, used) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_vars(item, environ, missing, used) for item in value]
    return value
