"""LLM providers: every module in this package registers its own; `create_provider` picks one by name."""

from __future__ import annotations

from hermes.agent.providers.base import (
    Provider,
    ProviderConfigError,
    provider_spec,
    registered_providers,
)
from hermes.config.settings import Settings


def create_provider(settings: Settings) -> Provider:
    """The provider named by `model.provider`; ProviderConfigError says what is missing."""
    name = settings.model.provider
    spec = provider_spec(name)
    if spec is None:
        raise ProviderConfigError(
            f"unknown model.provider {name!r}; known: {', '.join(registered_providers())}"
        )
    return spec.factory(settings)
