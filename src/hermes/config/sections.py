"""Settings sections contributed by extensions: platform packages, providers and tools, in the tree or
installed as plugins.

The core `Settings` model knows nothing of them. An extension registers a `SectionSpec` naming its
config.yaml block, its pydantic model (fields carry `Env(...)`, `Secret` and a `description`) and the
prefix its environment names share; the loader, `hermes config reference/show/set`, the generated docs,
log redaction and the environment handed to commands then treat its keys like any core key.

A block is a top-level key (`matrix`), a block inside a core section (`tools.terminal`), or a block several
extensions share, each bringing its own fields (every provider puts its key in `provider_keys`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hermes.config.settings import Env, Section, Settings

# Environment prefixes the core itself owns; extensions add theirs through their sections.
CORE_ENV_PREFIXES = ("HERMES_", "GATEWAY_")


class PrefixRule(enum.Enum):
    """What Hermes may assume of every environment name that starts with a section's prefix."""

    # Hermes' own (`MATRIX_`): a name no setting knows is a typo, and none reaches commands the agent runs.
    OWNED = "owned"
    # Another vendor's credentials (`AWS_`), read by its tools too: none reaches commands, none is a typo.
    CREDENTIALS = "credentials"
    # Shared with other software (`OPENAI_`): only the section's secret names are kept from commands.
    SHARED = "shared"


@dataclass(frozen=True)
class SectionSpec:
    """One extension's block of settings: `key:` in config.yaml, `key.name` as dotted keys."""

    key: str
    model: type[Section]
    summary: str
    # Every environment name of the section starts with it; "" for a section without any.
    env_prefix: str
    # (symptom, remedy) pairs, shown with the section in docs/configuration.md.
    troubleshooting: tuple[tuple[str, str], ...] = ()
    prefix_rule: PrefixRule = PrefixRule.OWNED


_sections: dict[type[Section], SectionSpec] = {}


def _env_names(model: type[BaseModel]) -> Iterator[str]:
    for info in model.model_fields.values():
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _env_names(annotation)
        for item in info.metadata:
            if isinstance(item, Env):
                yield from item.names


def _core_model_at(key: str) -> type[BaseModel] | None:
    """The core model holding block `key` (`tools` for `tools.terminal`); None for a top-level block."""
    *parents, _ = key.split(".")
    model: type[BaseModel] = Settings
    for part in parents:
        info = model.model_fields.get(part)
        annotation: Any = info.annotation if info is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise ValueError(f"settings section {key!r}: {part!r} is not a core section")
        model = annotation
    return model if parents else None


def register_section(spec: SectionSpec) -> None:
    """Make `spec`'s keys settings. Refuses a block the core owns, a field another extension's model
    already has in a shared block, and environment names outside the section's prefix (they would escape
    the prefix-based secret and typo rules)."""
    parent = _core_model_at(spec.key)
    name = spec.key.rpartition(".")[2]
    if name in (parent or Settings).model_fields:
        raise ValueError(f"settings section {spec.key!r} is a core section")
    existing = _sections.get(spec.model)
    if existing is not None and existing.key != spec.key:
        raise ValueError(f"{spec.model.__qualname__} is already the settings section {existing.key!r}")
    for other in _sections.values():
        if other.key == spec.key and other.model is not spec.model:
            taken = other.model.model_fields.keys() & spec.model.model_fields.keys()
            if taken:
                owner = other.model.__module__
                raise ValueError(
                    f"settings section {spec.key!r}: {', '.join(sorted(taken))} taken by {owner}"
                )
    names = list(_env_names(spec.model))
    if spec.env_prefix or names:
        if not spec.env_prefix.endswith("_") or not spec.env_prefix.isupper():
            raise ValueError(
                f"settings section {spec.key!r}: env prefix {spec.env_prefix!r} is not like 'NAME_'"
            )
        outside = [name for name in names if not name.startswith(spec.env_prefix)]
        if outside:
            raise ValueError(
                f"settings section {spec.key!r}: {', '.join(outside)} do not start with {spec.env_prefix}"
            )
    _sections[spec.model] = spec


def registered_sections() -> list[SectionSpec]:
    """Every section, after the extensions installed or in the tree have been found."""
    from hermes.extensions import discover

    discover()
    # By key, then model, not by import order: the docs and `config show` must not change with what loaded
    # first.
    return sorted(_sections.values(), key=lambda spec: (spec.key, spec.model.__module__, spec.model.__name__))


def section_for(model: type[Section]) -> SectionSpec:
    spec = _sections.get(model)
    if spec is None:
        spec = next((s for s in registered_sections() if s.model is model), None)
    if spec is None:
        raise LookupError(f"{model.__qualname__} is not a registered settings section")
    return spec


def block_keys() -> dict[str, list[type[Section]]]:
    """Each extension block by its key, with the models sharing it."""
    blocks: dict[str, list[type[Section]]] = {}
    for spec in registered_sections():
        blocks.setdefault(spec.key, []).append(spec.model)
    return blocks


def env_prefixes() -> tuple[str, ...]:
    """Every environment prefix Hermes owns: a name with one of these that is not a known setting is
    most likely a typo (`names.setting_prefixes`), and none is handed to commands the agent runs."""
    owned = (
        s.env_prefix for s in registered_sections() if s.env_prefix and s.prefix_rule is PrefixRule.OWNED
    )
    return CORE_ENV_PREFIXES + tuple(dict.fromkeys(owned))


def withheld_prefixes() -> tuple[str, ...]:
    """Prefixes of names never handed to commands the agent runs: Hermes' own and other vendors'
    credentials that extensions read."""
    kept = (
        s.env_prefix for s in registered_sections() if s.env_prefix and s.prefix_rule is not PrefixRule.SHARED
    )
    return CORE_ENV_PREFIXES + tuple(dict.fromkeys(kept))
