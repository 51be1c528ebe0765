"""The names `model.provider` takes: each provider module registers its own (`agent/providers/`, or a
`hermes.providers` entry point), so the core names none of them.

One provider is the default, and brings the default of `model.default` with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class ProviderName:
    name: str
    # Names written by the compatible system or the fleet manager that mean this provider (`litellm`).
    aliases: tuple[str, ...] = ()
    # The provider used when `model.provider` is not set, and its model when `model.default` is not.
    default_model: str | None = None


_names: dict[str, ProviderName] = {}


def register_provider_name(entry: ProviderName) -> None:
    existing = _names.get(entry.name)
    if existing is not None and existing != entry:
        raise ValueError(f"provider {entry.name!r} is already registered")
    if entry.default_model is not None:
        other = next((n for n in _names.values() if n.default_model and n.name != entry.name), None)
        if other is not None:
            raise ValueError(f"provider {entry.name!r}: {other.name!r} is already the default provider")
    _names[entry.name] = entry


def provider_names() -> list[str]:
    """Every registered provider, in name order."""
    from hermes.extensions import discover

    discover()
    return sorted(_names)


def canonical_provider(name: str) -> str | None:
    """The registered provider `name` is, or is an alias of; None for an unknown name."""
    names = provider_names()
    if name in names:
        return name
    return next((entry.name for entry in _names.values() if name in entry.aliases), None)


def _default() -> ProviderName:
    provider_names()
    found = next((entry for entry in _names.values() if entry.default_model), None)
    if found is None:
        raise LookupError("no provider is registered as the default one")
    return found


def default_provider() -> str:
    return _default().name


def default_model() -> str:
    return _default().default_model or ""


class OneOfProviders:
    """Validates `model.provider` against the registered providers, with the one-line error a `Literal`
    gives ("Input should be 'a' or 'b'"); `allowed()` lists them for the docs."""

    def allowed(self) -> list[str]:
        return provider_names()

    def __call__(self, value: str) -> str:
        allowed = self.allowed()
        if value in allowed:
            return value
        quoted = [repr(name) for name in allowed]
        expected = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
