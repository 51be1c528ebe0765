"""The wizard's first part: which LLM provider, its key or address, which model — checked live."""

from __future__ import annotations

import asyncio
import typing
from typing import Any

from hermes.cli.setup_checks import check_model
from hermes.cli.setup_form import Form
from hermes.config.settings import ModelSettings, ProviderName, Settings
from hermes.platforms.base import Check
from hermes.platforms.wizard import Choice, Fix, Question, as_default, parse_url

_PROVIDER_HINTS = {
    "openrouter": ("OpenRouter", "hundreds of models behind one key — openrouter.ai/keys"),
    "anthropic": ("Anthropic", "Claude, with a key from console.anthropic.com"),
    "openai": ("OpenAI", "GPT models, with a key from platform.openai.com"),
    "bedrock": ("AWS Bedrock", "Claude through your AWS account"),
    "custom": ("Custom endpoint", "any OpenAI-compatible server: Ollama, vLLM, llama.cpp, LiteLLM"),
}


def _key_question(provider: str) -> Question:
    if provider == "custom":
        return Question(
            "model.api_key",
            "API key (Enter if the server needs none)",
            "--api-key",
            secret=True,
            optional=True,
        )
    label = _PROVIDER_HINTS.get(provider, (provider, ""))[0]
    return Question(f"provider_keys.{provider}_api_key", f"{label} API key", "--api-key", secret=True)


def _secret_default(settings: Settings, key: str) -> str | None:
    section, name = key.split(".")
    return as_default(getattr(getattr(settings, section), name))


def model_section(form: Form, current: Settings) -> dict[str, Any]:
    form.ui.say("\nThe model")
    choices = [Choice(name, *_PROVIDER_HINTS.get(name, (name, ""))) for name in typing.get_args(ProviderName)]
    provider = form.choose(
        "model.provider", "Which LLM provider?", "--provider", choices, default=current.model.provider
    )
    same = provider == current.model.provider
    changes: dict[str, Any] = {"model.provider": provider}
    fixes: list[Fix] = []

    if provider == "custom":
        base = Question(
            "model.base_url",
            "Server address",
            "--base-url",
            explain="  The OpenAI-compatible server, e.g. http://127.0.0.1:11434 for Ollama (/v1 is added).",
            parse=parse_url,
        )
        form.ask(base, as_default(current.model.base_url) if same else None)
        fixes.append(Fix("The server address", base))
    if provider == "bedrock":
        access = Question(
            "provider_keys.aws_access_key_id",
            "AWS access key id (Enter to use this machine's AWS profile or role)",
            "--aws-access-key-id",
            secret=True,
            optional=True,
        )
        secret = Question(
            "provider_keys.aws_secret_access_key",
            "AWS secret access key",
            "--aws-secret-access-key",
            secret=True,
            optional=True,
        )
        region = Question("bedrock.region", "AWS region", "--aws-region")
        if form.ask(access, _secret_default(current, access.key)):
            form.ask(secret, _secret_default(current, secret.key))
        form.ask(region, current.bedrock.region or "us-east-1")
        fixes += [Fix("The access key", access), Fix("The secret key", secret), Fix("The region", region)]
    else:
        key = _key_question(provider)
        form.ask(key, _secret_default(current, key.key) if provider != "custom" or same else None)
        fixes.append(Fix("The API key", key))

    suggested = current.model.default if same else None
    if suggested is None and provider == "openrouter":
        suggested = ModelSettings().default
    model = Question(
        "model.default",
        "Model id",
        "--model",
        explain="  As the provider names it, e.g. anthropic/claude-sonnet-4 (OpenRouter), llama3.1 (Ollama).",
    )
    form.ask(model, suggested)
    fixes.append(Fix("The model id", model))

    def check() -> Check:
        return asyncio.run(check_model(_settings(form.answers, provider)))

    form.verify("the model", check, fixes)
    for fix in fixes:
        if fix.question.key in form.answers:
            changes[fix.question.key] = form.answers[fix.question.key] or None
    if provider != "custom":
        # Both would still apply to the new provider: an old endpoint or key must not hijack it.
        changes["model.api_key"] = None
        if not same:
            changes["model.base_url"] = None
    return changes


def _settings(answers: dict[str, Any], provider: str) -> Settings:
    tree: dict[str, Any] = {}
    for key, value in answers.items():
        if "." not in key or value in (None, ""):
            continue
        section, name = key.split(".", 1)
        tree.setdefault(section, {})[name] = value
    tree.setdefault("model", {})["provider"] = provider
    return Settings.model_validate(tree)
