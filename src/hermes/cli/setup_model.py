"""The wizard's first part: which LLM provider, its key or address, which model — checked live.

The providers, their questions and their flags come from the provider registry (`agent/providers`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hermes.agent.providers.base import ProviderSpec, SetupQuestion, registered_providers
from hermes.cli.setup_checks import check_model
from hermes.cli.setup_form import Form
from hermes.config.loader import setting_value
from hermes.config.providers import default_model
from hermes.config.settings import Settings
from hermes.platforms.base import Check
from hermes.platforms.wizard import Choice, Fix, Flag, Question, as_default, parse_url

# The wizard's own options (`hermes gateway setup --api-key ...`): a provider question with one of these
# flags is answered by it; the others become options of their own (`provider_flags`).
CORE_FLAGS = ("--api-key", "--base-url")


def provider_flags() -> list[Flag]:
    """The options of the providers' questions that the wizard does not declare itself, once each."""
    flags: dict[str, Flag] = {}
    for spec in registered_providers().values():
        for question in spec.questions:
            if question.flag not in CORE_FLAGS:
                flags.setdefault(question.flag, Flag(question.flag, question.key, question.help))
    return list(flags.values())


def answered_by_core_flags(values: dict[str, Any]) -> dict[str, Any]:
    """Setting keys answered by the wizard's own options (`--api-key` answers every provider's key
    question), from the options' values by flag."""
    return {
        question.key: values.get(question.flag)
        for spec in registered_providers().values()
        for question in spec.questions
        if question.flag in CORE_FLAGS
    }


def _question(asked: SetupQuestion) -> Question:
    parse: dict[str, Any] = {"parse": parse_url} if asked.url else {}
    return Question(
        asked.key,
        asked.prompt,
        asked.flag,
        explain=asked.explain,
        secret=asked.secret,
        optional=asked.optional,
        **parse,
    )


def _suggested(asked: SetupQuestion, current: Settings, same: bool) -> str | None:
    # The `model.*` answers belong to whichever provider is chosen: kept only when it stays the same.
    value = setting_value(current, asked.key) if same or not asked.key.startswith("model.") else None
    return as_default(value) or asked.default


def model_section(form: Form, current: Settings) -> dict[str, Any]:
    form.ui.say("\nThe model")
    providers = registered_providers()
    listed = sorted(providers.values(), key=lambda spec: (spec.menu_order, spec.name))
    choices = [Choice(spec.name, spec.label, spec.hint) for spec in listed]
    provider = form.choose(
        "model.provider", "Which LLM provider?", "--provider", choices, default=current.model.provider
    )
    spec = providers[provider]
    same = provider == current.model.provider
    changes: dict[str, Any] = {"model.provider": provider}
    fixes: list[Fix] = []

    for asked in spec.questions:
        if asked.after is not None and not form.answers.get(asked.after):
            fixes.append(Fix(asked.fix, _question(asked)))
            continue
        question = _question(asked)
        form.ask(question, _suggested(asked, current, same))
        fixes.append(Fix(asked.fix, question))

    suggested = current.model.default if same else _default_model(spec)
    example = f", e.g. {spec.model_example}" if spec.model_example else ""
    model = Question(
        "model.default",
        "Model id",
        "--model",
        explain=f"  As the provider names it{example}.",
    )
    form.ask(model, suggested)
    fixes.append(Fix("The model id", model))

    def check() -> Check:
        return asyncio.run(check_model(_settings(form.answers, provider)))

    form.verify("the model", check, fixes)
    for fix in fixes:
        if fix.question.key in form.answers:
            changes[fix.question.key] = form.answers[fix.question.key] or None
    if not spec.any_endpoint:
        # Both would still apply to the new provider: an old endpoint or key must not hijack it.
        changes["model.api_key"] = None
        if not same:
            changes["model.base_url"] = None
    return changes


def _default_model(spec: ProviderSpec) -> str | None:
    """The default provider suggests its model; the others' model ids are the operator's to name."""
    return default_model() if spec.default_model else None


def _settings(answers: dict[str, Any], provider: str) -> Settings:
    tree: dict[str, Any] = {}
    for key, value in answers.items():
        if "." not in key or value in (None, ""):
            continue
        *parents, name = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = value
    tree.setdefault("model", {})["provider"] = provider
    return Settings.model_validate(tree)
