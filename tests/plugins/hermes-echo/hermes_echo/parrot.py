"""The `parrot` provider: an example of a Hermes LLM provider distributed on its own.

It "answers" by repeating the last thing said to it, so it needs no network; it still wants a key,
`provider_keys.parrot_api_key` (`PARROT_API_KEY`), which Hermes treats like any provider's: secret,
redacted from logs and `config show`, asked for by `hermes gateway setup --provider parrot`. Installing
the distribution is enough: its `hermes.providers` entry point names this module, whose import registers
the provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated

from pydantic import Field

from hermes.agent.providers.base import (
    Finish,
    ProviderConfigError,
    ProviderEvent,
    ProviderRequest,
    ProviderSpec,
    SetupQuestion,
    TextChunk,
    keys_section,
    register_provider,
)
from hermes.config.settings import Env, Secret, Section, Settings


class ParrotKeys(Section):
    parrot_api_key: Annotated[
        str | None, Env("PARROT_API_KEY"), Secret, Field(description="Parrot key (any text will do).")
    ] = None


class ParrotProvider:
    name = "parrot"

    def __init__(self, key: str) -> None:
        # Which key answered, without showing it: the first characters of its digest.
        self.key_id = hashlib.sha256(key.encode()).hexdigest()[:8]

    async def stream(self, request: ProviderRequest) -> AsyncIterator[ProviderEvent]:
        said = next((m.content for m in reversed(request.messages) if m.role == "user"), None) or ""
        yield TextChunk(f"{request.model} ({self.key_id}) says: {said}")
        yield Finish("stop")

    async def check(self) -> str:
        return f"the parrot is listening (key {self.key_id})"

    async def close(self) -> None:
        return None


def create(settings: Settings) -> ParrotProvider:
    key = settings.model.api_key or settings.section(ParrotKeys).parrot_api_key
    if not key:
        raise ProviderConfigError("model.provider is parrot but no API key is set: set PARROT_API_KEY")
    return ParrotProvider(key)


register_provider(
    ProviderSpec(
        "parrot",
        "Parrot",
        "repeats what it hears (an out-of-tree example)",
        create,
        sections=(keys_section(ParrotKeys, "PARROT_"),),
        key_setting="provider_keys.parrot_api_key",
        questions=(
            SetupQuestion(
                "provider_keys.parrot_api_key", "Parrot API key", "--api-key", "The API key", secret=True
            ),
        ),
        model_example="polly",
    )
)
