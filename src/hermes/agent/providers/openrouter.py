"""OpenRouter, over the chat completions wire (`openai_compat`): the default provider."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hermes.agent.providers.base import ProviderSpec, SetupQuestion, keys_section, register_provider
from hermes.agent.providers.openai_compat import Family, factory
from hermes.config.settings import Env, Secret, Section, Settings


class OpenRouterKeys(Section):
    openrouter_api_key: Annotated[
        str | None, Env("OPENROUTER_API_KEY"), Secret, Field(description="OpenRouter key.")
    ] = None


def _key(settings: Settings) -> str | None:
    return settings.section(OpenRouterKeys).openrouter_api_key


FAMILY = Family(
    "openrouter",
    "OpenRouter",
    "https://openrouter.ai/api/v1",
    _key,
    "OPENROUTER_API_KEY",
    # OpenRouter shows this name as the calling app in its usage pages.
    headers={"X-Title": "Hermes"},
)

register_provider(
    ProviderSpec(
        "openrouter",
        "OpenRouter",
        "hundreds of models behind one key — openrouter.ai/keys",
        factory(FAMILY),
        sections=(keys_section(OpenRouterKeys, "OPENROUTER_"),),
        key_setting="provider_keys.openrouter_api_key",
        questions=(
            SetupQuestion(
                "provider_keys.openrouter_api_key",
                "OpenRouter API key",
                "--api-key",
                "The API key",
                secret=True,
            ),
        ),
        default_model="anthropic/claude-sonnet-4",
        model_example="anthropic/claude-sonnet-4",
        menu_order=10,
    )
)
