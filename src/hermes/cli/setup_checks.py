"""The setup wizard's live check of the model (the platforms bring their own checks). It returns a `Check`
that says what went wrong in words an operator can act on, and which answer (`suspect`, a settings key)
most likely needs fixing. Nothing here writes anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hermes.config.settings import Settings
from hermes.platforms.base import Check

TIMEOUT = 15.0


# -- the model ---------------------------------------------------------------------------------------------


async def check_model(settings: Settings) -> Check:
    """The endpoint and key (the models list), then the model itself (a completion of a few tokens)."""
    from hermes.agent.providers import create_provider
    from hermes.agent.providers.base import ProviderConfigError, ProviderError, provider_spec

    model = settings.model
    spec = provider_spec(model.provider)
    key_field = spec.key_setting if spec is not None and spec.key_setting else "model.api_key"
    # A provider serving the operator's own endpoint: an unreachable server is most likely its address.
    endpoint = spec is not None and spec.any_endpoint
    try:
        provider = create_provider(settings)
    except ProviderConfigError as exc:
        return Check(False, str(exc), suspect=key_field if "key" in str(exc) else "model.base_url")
    stage = "endpoint"
    try:
        async with asyncio.timeout(TIMEOUT):
            listed = await provider.check()
        stage = "model"
        async with asyncio.timeout(TIMEOUT * 2):
            await _one_completion(provider, model.default)
    except ProviderError as exc:
        return _provider_failure(exc, stage, key_field, endpoint)
    except TimeoutError:
        where = "model.base_url" if endpoint else None
        return Check(False, f"no answer from the provider within {TIMEOUT:.0f} s", _NETWORK, where)
    finally:
        await provider.close()
    return Check(True, f"{listed}; {model.default} answered")


async def _one_completion(provider: Any, model: str) -> None:
    from hermes.agent.messages import Message, SystemPrompt
    from hermes.agent.providers.base import Finish, ProviderRequest

    request = ProviderRequest(
        model=model,
        system=SystemPrompt("This is a connection test. Reply with one word."),
        messages=[Message(role="user", content="ping")],
        max_tokens=8,
    )
    async for event in provider.stream(request):
        if isinstance(event, Finish):
            return


_NETWORK = "check the address and that this machine can reach it"


def _provider_failure(exc: Any, stage: str, key_field: str, endpoint: bool) -> Check:
    status = exc.status
    if status in (401, 403):
        return Check(False, exc.message, "paste the key again, or create a new one", key_field)
    if stage == "model" and status in (400, 404, 422):
        return Check(False, exc.message, "check the model id against the provider's list", "model.default")
    if status is None or status == 404:
        suspect = "model.base_url" if endpoint else None
        fix = "check the base URL (Ollama: http://127.0.0.1:11434)" if suspect else _NETWORK
        return Check(False, exc.message, fix, suspect)
    return Check(False, exc.message, "try again in a moment; the provider had a problem")
