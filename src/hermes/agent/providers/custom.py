"""`custom`: any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp, LiteLLM) at `model.base_url`, with
`model.api_key` when the server wants one."""

from __future__ import annotations

from hermes.agent.providers.base import ProviderSpec, SetupQuestion, register_provider
from hermes.agent.providers.openai_compat import Family, factory

FAMILY = Family("custom", "the custom endpoint", None)

register_provider(
    ProviderSpec(
        "custom",
        "Custom endpoint",
        "any OpenAI-compatible server: Ollama, vLLM, llama.cpp, LiteLLM",
        factory(FAMILY),
        key_setting="model.api_key",
        questions=(
            SetupQuestion(
                "model.base_url",
                "Server address",
                "--base-url",
                "The server address",
                explain=(
                    "  The OpenAI-compatible server, e.g. http://127.0.0.1:11434 for Ollama (/v1 is added)."
                ),
                url=True,
            ),
            SetupQuestion(
                "model.api_key",
                "API key (Enter if the server needs none)",
                "--api-key",
                "The API key",
                secret=True,
                optional=True,
            ),
        ),
        any_endpoint=True,
        # The fleet manager's LiteLLM slots name their provider so.
        aliases=("litellm",),
        model_example="llama3.1 (Ollama)",
        menu_order=90,
    )
)
