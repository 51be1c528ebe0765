"""Writing settings into HERMES_HOME's `.env` and `config.yaml`, the way an operator would by hand.

`plan_changes` takes settings by their dotted key (`matrix.homeserver`) and decides, for each, which file
and which name it goes to; the result holds both files' old and new text, so it can be shown as a diff,
checked by loading it, and written. Only the keys given change: comments, order and unknown entries stay.

Where a key goes:
- A key already set in `.env` (under any of its environment names) is changed there; one already in
  `config.yaml` is changed there — except secrets, which move to `.env`.
- A new secret, or a new key with an environment twin outside `yaml_sections`, goes to `.env` under its
  first environment name; anything else goes to `config.yaml`.
- A secret without an environment twin (`model.api_key`) goes to `.env` under `HERMES_<KEY>` and
  `config.yaml` refers to it as `${HERMES_<KEY>}`: secrets never sit in `config.yaml` in clear.
- `None` removes the key from both files, under every environment name.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hermes.config.env_edit import EnvFile
from hermes.config.errors import ConfigError
from hermes.config.loader import (
    CONFIG_YAML,
    Leaf,
    LoadedConfig,
    leaves,
    load_config,
    secret_reference_name,
)
from hermes.config.mcp_secrets import mcp_secret_values
from hermes.config.paths import HermesPaths
from hermes.config.yaml_edit import REMOVE, YamlEditError, edit_yaml
from hermes.fileio import write_atomic

ENV_MODE = 0o600
NEW_YAML_MODE = 0o600
MASK = "********"

SettingValue = str | bool | int | float | list[str] | None


class WriteError(Exception):
    """The files cannot be changed as asked; the message names the file and the reason."""


@dataclass(frozen=True)
class FileChange:
    path: Path
    before: str | None  # None: the file does not exist yet
    after: str
    mode: int

    @property
    def changed(self) -> bool:
        return (self.before or "") != self.after


@dataclass(frozen=True)
class ConfigPlan:
    paths: HermesPaths
    env: FileChange
    yaml: FileChange
    keys: tuple[str, ...]
    secrets: tuple[str, ...] = field(repr=False, default=())

    @property
    def changed(self) -> bool:
        return self.env.changed or self.yaml.changed

    def diff(self) -> str:
        """A unified diff of both files, every secret value (old or new) replaced by `********`."""
        parts: list[str] = []
        for change in (self.env, self.yaml):
            if not change.changed:
                continue
            before = (change.before or "").splitlines(keepends=True)
            after = change.after.splitlines(keepends=True)
            label = str(change.path)
            parts.extend(
                difflib.unified_diff(
                    before, after, "/dev/null" if change.before is None else label, label, lineterm="\n"
                )
            )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in parts)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def write(self) -> None:
        """Both files, each atomically (temp + fsync + rename) with its mode. Blocking."""
        self.paths.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        for change in (self.env, self.yaml):
            if change.changed:
                write_atomic(change.path, change.after, mode=change.mode)


def env_text(value: SettingValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise WriteError(f"cannot read {path}: {exc}") from None


_ABSENT: Any = object()


def _yaml_value(text: str, path: tuple[str, ...]) -> Any:
    """The value at `path` in the YAML text, or `_ABSENT`."""
    import yaml

    try:
        node: Any = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise WriteError(f"config.yaml is not valid YAML ({exc}); fix it first") from None
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def plan_changes(
    paths: HermesPaths,
    changes: Mapping[str, SettingValue],
    *,
    yaml_sections: Sequence[str] = ("model",),
    known_secrets: Iterable[str] = (),
) -> ConfigPlan:
    """The new text of `.env` and `config.yaml` with `changes` applied; nothing is written yet."""
    by_key = {leaf.key: leaf for leaf in leaves()}
    env_before = _read(paths.env_file)
    yaml_before = _read(paths.config_file)
    env = EnvFile(env_before or "")
    yaml_text = yaml_before or ""
    yaml_changes: dict[tuple[str, ...], Any] = {}
    secrets = [*known_secrets, *_secret_values(env, yaml_text)]
    for key, value in changes.items():
        leaf = by_key.get(key)
        if leaf is None:
            raise ValueError(f"{key!r} is not a setting")
        if leaf.secret and isinstance(value, str):
            secrets.append(value)
        _place(env, yaml_text, yaml_changes, leaf, tuple(key.split(".")), value, yaml_sections)
    try:
        yaml_after = edit_yaml(yaml_text, yaml_changes) if yaml_changes else yaml_text
    except YamlEditError as exc:
        raise WriteError(f"{paths.config_file}: {exc}") from None
    yaml_mode = stat.S_IMODE(paths.config_file.stat().st_mode) if yaml_before is not None else NEW_YAML_MODE
    return ConfigPlan(
        paths,
        FileChange(paths.env_file, env_before, env.text(), ENV_MODE),
        FileChange(paths.config_file, yaml_before, yaml_after, yaml_mode),
        tuple(changes),
        tuple(dict.fromkeys(s for s in secrets if len(s) >= 4)),
    )


def _secret_values(env: EnvFile, yaml_text: str) -> list[str]:
    """Every secret the files hold now, so that a diff's context lines do not show one either."""
    import yaml

    try:
        tree: Any = yaml.safe_load(yaml_text) if yaml_text.strip() else {}
    except yaml.YAMLError:
        tree = {}
    found = []
    for leaf in leaves():
        if not leaf.secret:
            continue
        for name in leaf.env or (secret_reference_name(leaf.key),):
            value = env.get(name)
            if value:
                found.append(value)
        node: Any = tree
        for part in leaf.key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            found.append(node)
    servers = tree.get("mcp_servers") if isinstance(tree, dict) else None
    if isinstance(servers, dict):
        found.extend(mcp_secret_values(servers))
    return found


def _place(
    env: EnvFile,
    yaml_text: str,
    yaml_changes: dict[tuple[str, ...], Any],
    leaf: Leaf,
    path: tuple[str, ...],
    value: SettingValue,
    yaml_sections: Sequence[str],
) -> None:
    in_env = [name for name in leaf.env if env.has(name)]
    current = _yaml_value(yaml_text, path)
    in_yaml = current is not _ABSENT
    if value is None:
        for name in leaf.env or (secret_reference_name(leaf.key),):
            env.unset(name)
        if in_yaml:
            yaml_changes[path] = REMOVE
    elif leaf.secret and not leaf.env:
        reference = secret_reference_name(leaf.key)
        env.set(reference, env_text(value))
        if current != f"${{{reference}}}":
            yaml_changes[path] = f"${{{reference}}}"
    elif in_env:
        env.set(in_env[0], env_text(value))
    elif in_yaml and not leaf.secret:
        if current != value:
            yaml_changes[path] = value
    elif leaf.env and (leaf.secret or path[0] not in yaml_sections):
        env.set(leaf.env[0], env_text(value))
        if in_yaml:
            yaml_changes[path] = REMOVE
    else:
        yaml_changes[path] = value


@dataclass(frozen=True)
class PlanCheck:
    """What loading the planned files says: problems that would stop the daemon, and keys whose new value
    is hidden by a higher layer (`.env.d/*.env` or the process environment)."""

    problems: list[str]
    shadowed: list[str]


def check_plan(
    plan: ConfigPlan,
    environ: Mapping[str, str] | None = None,
    *,
    start_checks: Callable[[LoadedConfig], object] | None = None,
) -> PlanCheck:
    """Load the planned files as the daemon would (with this process's environment and the home's
    `.env.d`), without touching the real ones. `start_checks` runs on the loaded configuration what start-up
    checks beyond the settings model (a platform refusing a weak key); its `ConfigError` is a problem."""
    process_env = dict(os.environ if environ is None else environ)
    with tempfile.TemporaryDirectory(prefix="hermes-check-") as scratch:
        home = Path(scratch)
        (home / ".env").write_text(plan.env.after, encoding="utf-8")
        (home / CONFIG_YAML).write_text(plan.yaml.after, encoding="utf-8")
        if plan.paths.env_dropins.is_dir():
            (home / ".env.d").symlink_to(plan.paths.env_dropins)
        try:
            loaded = load_config({**process_env, "HERMES_HOME": str(home)})
            if start_checks is not None:
                start_checks(loaded)
        except ConfigError as exc:
            return PlanCheck([p.replace(str(home), str(plan.paths.home)) for p in exc.problems], [])
    by_key = {leaf.key: leaf for leaf in leaves()}
    shadowed = []
    for key in plan.keys:
        origin = loaded.origins.get(key, "")
        if origin == "environment" or origin.startswith(".env.d/"):
            names = ", ".join(by_key[key].env)
            where = "the environment of this shell" if origin == "environment" else origin
            shadowed.append(f"{key}: {names} in {where} overrides what was written")
    return PlanCheck([], shadowed)


def home_paths() -> HermesPaths:
    """HERMES_HOME's paths from this process's environment, for tools that must work even when the
    configuration in it does not load."""
    return HermesPaths.resolve(os.environ)
