"""Providers and tools are one module each: the core that reads the settings, documents them, hides their
secrets and asks for them in the wizard names none of them, in code: names, and strings that are not
prose (a key, a provider name); comments, docstrings and sentences aside ("the operator's web page")."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from hermes.agent.providers.base import registered_providers
from hermes.agent.tools import load_tool_modules
from hermes.config.sections import registered_sections
from tests.unit.test_import_cycles import PACKAGE

CORE = [
    *sorted((PACKAGE / "config").glob("*.py")),
    PACKAGE / "extensions.py",
    PACKAGE / "cli" / "setup.py",
    PACKAGE / "cli" / "setup_model.py",
    PACKAGE / "cli" / "setup_checks.py",
    PACKAGE / "cli" / "doctor.py",
    PACKAGE / "cli" / "config_cmd.py",
]


def _code_words(path: Path) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return " ".join(
        token.string.lower()
        for token in tokens
        if token.type == tokenize.NAME or (token.type == tokenize.STRING and " " not in token.string)
    )


def _names() -> list[str]:
    load_tool_modules()
    tools = {spec.key.split(".")[1] for spec in registered_sections() if spec.key.startswith("tools.")}
    providers = {name for spec in registered_providers().values() for name in (spec.name, *spec.aliases)}
    return sorted(providers | tools)


def test_the_shipped_providers_and_tools_with_settings_are_found() -> None:
    assert {"anthropic", "bedrock", "custom", "openai", "openrouter", "terminal", "web"} <= set(_names())


@pytest.mark.parametrize("path", CORE, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_core_names_no_provider_or_tool(path: Path) -> None:
    words = _code_words(path)
    named = [name for name in _names() if re.search(rf"\b{name}\b", words)]
    assert named == [], f"{path.relative_to(PACKAGE)} names {', '.join(named)}: ask the registries"
