"""Merging the layers into validated `Settings`, remembering where each value came from.

Precedence, lowest first: built-in defaults < config.yaml < .env < .env.d/*.env (name order) < the
process environment. An environment key overrides its config.yaml twin.
"""

from __future__ import annotations

import copy
import logging
import os
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from hermes.config.errors import ConfigError
from hermes.config.mcp_secrets import mcp_secret_values
from hermes.config.names import OTHER_NAMES, closest, did_you_mean, setting_prefixes
from hermes.config.paths import HermesPaths
from hermes.config.sections import block_keys, registered_sections
from hermes.config.settings import NOT_IMPLEMENTED_KEYS, SECTIONS_CONTEXT, Env, Secret, Section, Settings
from hermes.config.sources import ENVIRONMENT, EnvLayer, env_layers, expand_vars, read_yaml

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Section)

DEFAULT = "default"
CONFIG_YAML = "config.yaml"


@dataclass(frozen=True)
class Leaf:
    """One setting: its dotted key, environment twins, and whether it is a secret."""

    key: str
    env: tuple[str, ...]
    secret: bool
    is_list: bool
    # The field's type with its constraints, for validating one value on its own (`hermes config set`).
    annotation: Any = field(default=None, compare=False, repr=False)
    description: str | None = None
    # The pydantic field (default, constraints), for the docs.
    info: FieldInfo | None = field(default=None, compare=False, repr=False)


@dataclass
class LoadedConfig:
    settings: Settings
    paths: HermesPaths
    origins: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    # Worth one info line: keys the compatible system knows that this gateway does not implement.
    notes: list[str] = field(default_factory=list)

    def section(self, model: type[S]) -> S:
        """An extension's settings, e.g. `config.section(MatrixSettings)`."""
        return self.settings.section(model)

    def value(self, key: str) -> Any:
        """The value of a dotted key, core or extension."""
        return setting_value(self.settings, key)

    def secret_values(self) -> list[str]:
        """Every secret value in force, for log redaction."""
        found = []
        for leaf in leaves():
            if leaf.secret:
                value = self.value(leaf.key)
                if isinstance(value, str) and value:
                    found.append(value)
        found.extend(mcp_secret_values(self.settings.mcp_servers))
        return found


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _walk(model: type[BaseModel], prefix: str) -> Iterator[Leaf]:
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        if _is_model(info.annotation):
            yield from _walk(cast(type[BaseModel], info.annotation), f"{key}.")
            continue
        env = next((m.names for m in info.metadata if isinstance(m, Env)), ())
        constraints = [m for m in info.metadata if not isinstance(m, Env) and m is not Secret]
        annotation = Annotated[(info.annotation, *constraints)] if constraints else info.annotation
        secret = any(m is Secret for m in info.metadata)
        is_list = _is_list(info.annotation)
        yield Leaf(key, env, secret, is_list, annotation, info.description, info)


_leaves_cache: dict[tuple[str, ...], list[Leaf]] = {}


def leaves() -> list[Leaf]:
    """Every setting: the core's, then each registered section's."""
    sections = registered_sections()
    cache_key = tuple(f"{spec.key}:{spec.model.__module__}.{spec.model.__qualname__}" for spec in sections)
    if cache_key not in _leaves_cache:
        found = list(_walk(Settings, ""))
        for spec in sections:
            found.extend(_walk(spec.model, f"{spec.key}."))
        _leaves_cache.clear()
        _leaves_cache[cache_key] = found
    return _leaves_cache[cache_key]


def lookup(settings: BaseModel, key: str) -> Any:
    value: Any = settings
    for part in key.split("."):
        value = getattr(value, part)
    return value


def setting_value(settings: Settings, key: str) -> Any:
    """The value of a dotted key, core (`model.default`) or an extension's (`matrix.homeserver`)."""
    for spec in registered_sections():
        if (
            key.startswith(f"{spec.key}.")
            and key[len(spec.key) + 1 :].split(".")[0] in spec.model.model_fields
        ):
            return lookup(settings.section(spec.model), key[len(spec.key) + 1 :])
    return lookup(settings, key)


def _set(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[last] = value


def _has(tree: Mapping[str, Any], key: str) -> bool:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _unknown_keys(
    tree: Mapping[str, Any],
    models: list[type[BaseModel]],
    blocks: Mapping[str, list[type[Section]]],
    prefix: str = "",
) -> list[str]:
    """Each unknown dotted key, with the known key of that section it is most likely a typo of. A block
    is validated by its models together (the core's, or the extensions' sharing it), and may hold the
    blocks of extensions (`tools.terminal`)."""
    fields = {name: info for model in models for name, info in model.model_fields.items()}
    inner = {key[len(prefix) :]: found for key, found in blocks.items() if key.startswith(prefix)}
    children = {name: found for name, found in inner.items() if "." not in name}
    unknown = []
    for name, value in tree.items():
        key = f"{prefix}{name}"
        info = fields.get(str(name))
        if str(name) in children:
            if isinstance(value, Mapping):
                unknown.extend(_unknown_keys(value, list(children[str(name)]), blocks, f"{key}."))
        elif info is None:
            suggestion = closest(str(name), [*fields, *children])
            unknown.append(f"{key} (did you mean {prefix}{suggestion}?)" if suggestion else key)
        elif _is_model(info.annotation) and isinstance(value, Mapping):
            model = cast(type[BaseModel], info.annotation)
            unknown.extend(_unknown_keys(value, [model], blocks, f"{key}."))
    return unknown


def _plugins(tree: Mapping[str, Any]) -> list[str]:
    """`gateway.plugins` as written, imported before the settings are known: a plugin may bring a section."""
    gateway = tree.get("gateway")
    plugins = gateway.get("plugins") if isinstance(gateway, Mapping) else None
    if isinstance(plugins, list):
        return [str(module) for module in plugins]
    return []


def secret_reference_name(key: str) -> str:
    """The `.env` name for a secret without an environment twin (`model.api_key`: HERMES_MODEL_API_KEY),
    which `config.yaml` refers to as `${HERMES_MODEL_API_KEY}`."""
    return "HERMES_" + key.upper().replace(".", "_")


def known_env_names() -> frozenset[str]:
    """Every environment name Hermes reads."""
    names = set(OTHER_NAMES)
    for leaf in leaves():
        names.update(leaf.env or ((secret_reference_name(leaf.key),) if leaf.secret else ()))
    return frozenset(names)


def _unknown_env_keys(layers: list[EnvLayer], referenced: set[str]) -> list[str]:
    """One warning per key of ours in `.env` or `.env.d/` that nothing reads: a typo, most likely. The
    process environment is not checked; it holds whatever the shell has."""
    known = known_env_names()
    warnings = []
    for layer in layers:
        if layer.origin == ENVIRONMENT:
            continue
        for name in layer.values:
            if name.startswith(setting_prefixes()) and name not in known and name not in referenced:
                warnings.append(
                    f"{layer.origin}: {name} is not a setting; ignored{did_you_mean(name, known)}"
                )
    return warnings


def _env_value(raw: str, leaf: Leaf) -> Any:
    if leaf.is_list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw.strip()


def _describe(error: Mapping[str, Any]) -> str:
    if error["type"].startswith("bool"):
        return "allowed: true or false"
    return str(error["msg"])


def load_config(environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read HERMES_HOME's files and the environment; raise `ConfigError` naming every bad value."""
    process_env = dict(os.environ if environ is None else environ)
    paths = HermesPaths.resolve(process_env)
    if (problem := paths.problem()) is not None:
        raise ConfigError([problem])
    layers = env_layers(paths.env_file, paths.env_dropins, process_env)
    merged_env: dict[str, str] = {}
    for layer in layers:
        merged_env.update(layer.values)

    missing: set[str] = set()
    referenced: set[str] = set()
    tree = expand_vars(read_yaml(paths.config_file), merged_env, missing, referenced)
    from hermes.extensions import import_plugins

    import_plugins(_plugins(tree))
    sections = registered_sections()
    warnings = _unknown_env_keys(layers, referenced)
    notes: list[str] = []
    unknown = _unknown_keys(tree, [Settings], block_keys())
    unimplemented = [key for key in unknown if key.split(" (did you mean")[0] in NOT_IMPLEMENTED_KEYS]
    unknown = [key for key in unknown if key not in unimplemented]
    if unknown:
        warnings.append(f"config.yaml: unknown keys ignored: {', '.join(unknown)}")
    if unimplemented:
        names = ", ".join(key.split(" (did you mean")[0] for key in unimplemented)
        notes.append(f"config.yaml: not implemented by this gateway, ignored: {names}")
    if missing:
        warnings.append(f"config.yaml: ${{VAR}} left as written, not set: {', '.join(sorted(missing))}")

    origins: dict[str, str] = {}
    env_names: dict[str, str] = {}
    values = copy.deepcopy(tree)
    for leaf in leaves():
        origins[leaf.key] = CONFIG_YAML if _has(tree, leaf.key) else DEFAULT
        for layer in layers:
            name = next((n for n in leaf.env if layer.values.get(n, "") != ""), None)
            if name is not None:
                _set(values, leaf.key, _env_value(layer.values[name], leaf))
                origins[leaf.key] = layer.origin
                env_names[leaf.key] = name

    problems: list[str] = []
    validated: dict[type[Section], Section] = {}
    for spec in sections:
        path = tuple(spec.key.split("."))
        block = _block(values, path)
        try:
            validated[spec.model] = spec.model.model_validate(block)
        except ValidationError as exc:
            problems += _problems(exc, origins, env_names, prefix=path)
    try:
        settings = Settings.model_validate(values, context={SECTIONS_CONTEXT: validated})
    except ValidationError as exc:
        problems = _problems(exc, origins, env_names) + problems
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(settings, paths, origins, warnings, merged_env, notes)


def _block(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The block at `path`: empty where the tree has none, or where a core block holding it is not a
    mapping (the core's validation names that); anything else is the model's to refuse."""
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping):
            return {}
        node = node.get(part)
    return {} if node is None else node


def _problems(
    exc: ValidationError,
    origins: dict[str, str],
    env_names: dict[str, str],
    prefix: tuple[str, ...] = (),
) -> list[str]:
    problems = []
    secret_keys = {leaf.key for leaf in leaves() if leaf.secret}
    for error in exc.errors():
        key = ".".join(str(part) for part in (*prefix, *error["loc"]))
        origin = origins.get(key, CONFIG_YAML)
        source = f"{origin} as {env_names[key]}" if key in env_names else origin
        shown = "(redacted)" if key in secret_keys else repr(error.get("input"))
        problems.append(f"config error: {key} = {shown} (from {source}): {_describe(error)}")
    return problems
