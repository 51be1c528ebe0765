"""OpenAI itself, over the chat completions wire (`openai_compat`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hermes.agent.providers.base import ProviderSpec, SetupQuestion, keys_section, register_provider
from hermes.agent.providers.openai_compat import Family, factory
from hermes.config.settings import Env, Secret, Section, Settings


class OpenAIKeys(Section):
    openai_api_key: Annotated[str | None, Env("OPENAI_API_KEY"), Secret, Field(description="OpenAI key.")] = (
        None
    )


def _key(settings: Settings) -> str | None:
    return settings.section(OpenAIKeys).openai_api_key


FAMILY = Family(
    "openai",
    "OpenAI",
    "https://api.openai.com/v1",
    _key,
    "OPENAI_API_KEY",
    max_tokens_field="max_completion_tokens",
)

register_provider(
    ProviderSpec(
        "openai",
        "OpenAI",
        "GPT models, with a key from platform.openai.com",
        factory(FAMILY),
        sections=(keys_section(OpenAIKeys, "OPENAI_"),),
        key_setting="provider_keys.openai_api_key",
        questions=(
            SetupQuestion(
                "provider_keys.openai_api_key", "OpenAI API key", "--api-key", "The API key", secret=True
            ),
        ),
        menu_order=30,
    )
)
