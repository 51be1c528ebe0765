"""The provider registry: what a provider module declares, and the declarations it refuses."""

from __future__ import annotations

import pytest

from hermes.agent.providers import base, create_provider
from hermes.agent.providers.base import (
    ProviderConfigError,
    ProviderSpec,
    register_provider,
    registered_providers,
)
from hermes.agent.providers.openrouter import OpenRouterKeys
from hermes.config import Settings, providers
from hermes.config.providers import ProviderName, canonical_provider, register_provider_name


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies of the registries for the test to add to; the others keep the shipped ones."""
    registered_providers()
    monkeypatch.setattr(base, "_registry", dict(base._registry))
    monkeypatch.setattr(providers, "_names", dict(providers._names))


def test_the_shipped_providers_declare_their_settings_and_questions() -> None:
    specs = registered_providers()
    assert set(specs) >= {"anthropic", "bedrock", "custom", "openai", "openrouter"}
    assert [s.name for s in specs.values() if s.default_model] == ["openrouter"]
    assert [s.name for s in specs.values() if s.any_endpoint] == ["custom"]
    openrouter = specs["openrouter"]
    assert openrouter.key_setting == "provider_keys.openrouter_api_key"
    assert [section.model for section in openrouter.sections] == [OpenRouterKeys]
    assert [q.flag for q in specs["bedrock"].questions] == [
        "--aws-access-key-id",
        "--aws-secret-access-key",
        "--aws-region",
    ]


def test_aliases_name_their_provider() -> None:
    assert canonical_provider("litellm") == "custom"
    assert canonical_provider("custom") == "custom"
    assert canonical_provider("watson") is None


def test_a_provider_the_settings_cannot_build_says_what_is_missing() -> None:
    settings = Settings.model_validate({"model": {"provider": "openrouter"}})
    with pytest.raises(ProviderConfigError, match=r"set OPENROUTER_API_KEY or model\.api_key"):
        create_provider(settings)


@pytest.mark.usefixtures("registries")
def test_a_taken_name_is_refused() -> None:
    def factory(settings: Settings) -> base.Provider:
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="provider 'openai' is already registered"):
        register_provider(ProviderSpec("openai", "Another", "", factory))


@pytest.mark.usefixtures("registries")
def test_a_second_default_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="'openrouter' is already the default provider"):
        register_provider_name(ProviderName("other", default_model="m"))
