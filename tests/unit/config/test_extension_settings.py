"""Settings that providers and tools declare in their own modules: shared and nested blocks, the names
`model.provider` takes, the environment rules of their prefixes, and the refusals of bad declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from hermes.agent.providers.anthropic import AnthropicKeys
from hermes.agent.providers.bedrock import BedrockKeys
from hermes.agent.providers.openai import OpenAIKeys
from hermes.agent.tools.terminal import TerminalToolSettings
from hermes.agent.tools.web import WebToolSettings
from hermes.config import ConfigError, Settings, load_config, sections
from hermes.config.environment import command_environment
from hermes.config.names import setting_prefixes
from hermes.config.providers import provider_names
from hermes.config.sections import PrefixRule, SectionSpec, register_section
from hermes.config.settings import Env, Section


def home(tmp_path: Path, config: str = "", env: str = "") -> dict[str, str]:
    (tmp_path / "config.yaml").write_text(config)
    (tmp_path / ".env").write_text(env)
    return {"HERMES_HOME": str(tmp_path)}


def test_every_provider_reads_its_key_from_the_shared_block(tmp_path: Path) -> None:
    config = "provider_keys:\n  anthropic_api_key: sk-ant-yaml\n"
    loaded = load_config(home(tmp_path, config, "OPENAI_API_KEY=sk-env\nAWS_SECRET_ACCESS_KEY=aws-s\n"))
    assert loaded.section(AnthropicKeys).anthropic_api_key == "sk-ant-yaml"
    assert loaded.section(OpenAIKeys).openai_api_key == "sk-env"
    assert loaded.section(BedrockKeys).aws_secret_access_key == "aws-s"
    assert loaded.origins["provider_keys.openai_api_key"] == ".env"
    assert loaded.value("provider_keys.anthropic_api_key") == "sk-ant-yaml"
    assert {"sk-ant-yaml", "sk-env", "aws-s"} <= set(loaded.secret_values())


def test_a_tool_block_nests_in_the_core_tools_section(tmp_path: Path) -> None:
    config = "tools:\n  disabled: [web_*]\n  terminal:\n    enabled: true\n  web:\n    max_bytes: 4096\n"
    loaded = load_config(home(tmp_path, config))
    assert loaded.settings.tools.disabled == ["web_*"]
    assert loaded.section(TerminalToolSettings).enabled is True
    assert loaded.section(WebToolSettings).max_bytes == 4096
    assert loaded.warnings == []


def test_settings_built_directly_read_the_same_blocks() -> None:
    """As the wizard and the tests build them, without the loader."""
    settings = Settings.model_validate({"tools": {"terminal": {"enabled": True}}})
    assert settings.section(TerminalToolSettings).enabled is True
    copied = settings.model_copy(update={"group_sessions_per_user": False})
    assert copied.section(TerminalToolSettings).enabled is True
    assert Settings().section(WebToolSettings).allow_private is False


def test_typos_in_extension_blocks_are_named_with_a_suggestion(tmp_path: Path) -> None:
    config = (
        "provider_keys:\n  openai_api_ky: x\ntools:\n  terminal:\n    enabeld: true\n  termnal: {}\n"
        "bedrock:\n  regoin: eu-west-1\n"
    )
    loaded = load_config(home(tmp_path, config))
    assert loaded.warnings == [
        "config.yaml: unknown keys ignored: provider_keys.openai_api_ky (did you mean "
        "provider_keys.openai_api_key?), tools.terminal.enabeld (did you mean tools.terminal.enabled?), "
        "tools.termnal (did you mean tools.terminal?), bedrock.regoin (did you mean bedrock.region?)"
    ]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            "tools:\n  terminal:\n    timeout_seconds: -1\n",
            "config error: tools.terminal.timeout_seconds = -1 (from config.yaml): "
            "Input should be greater than 0",
        ),
        (
            "provider_keys:\n  openai_api_key: [a, b]\n",
            "config error: provider_keys.openai_api_key = (redacted)",
        ),
        ("tools: 5\n", "config error: tools = 5 (from config.yaml)"),
        ("model:\n  provider: gemini\n", "config error: model.provider = 'gemini' (from config.yaml): Input"),
    ],
)
def test_a_bad_value_is_named_once_with_its_key(tmp_path: Path, config: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(home(tmp_path, config))
    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(expected)


def test_model_provider_takes_the_registered_names_and_defaults_to_the_default_one(tmp_path: Path) -> None:
    assert {"anthropic", "bedrock", "custom", "openai", "openrouter"} <= set(provider_names())
    loaded = load_config(home(tmp_path))
    assert loaded.settings.model.provider == "openrouter"
    assert loaded.settings.model.default == "anthropic/claude-sonnet-4"
    assert load_config(home(tmp_path, env="HERMES_INFERENCE_PROVIDER=bedrock\n")).settings.model.provider == (
        "bedrock"
    )


def test_prefix_rules_decide_what_commands_see_and_what_is_a_typo(tmp_path: Path) -> None:
    env = command_environment(
        {"AWS_PROFILE": "prod", "OPENAI_BASE_URL": "https://proxy", "OPENROUTER_APP": "x", "PATH": "/bin"}
    )
    # AWS_ names are credentials wherever they come from; the vendors' other names are not Hermes'.
    assert env == {"OPENAI_BASE_URL": "https://proxy", "OPENROUTER_APP": "x", "PATH": "/bin"}
    assert not {"AWS_", "OPENAI_", "OPENROUTER_", "ANTHROPIC_"} & set(setting_prefixes())
    loaded = load_config(home(tmp_path, env="OPENAI_BASE_URL=https://proxy\nAWS_PROFILE=prod\n"))
    assert loaded.warnings == []


class _Shared(Section):
    openai_api_key: Annotated[str | None, Field(description="Taken already.")] = None


class _Nested(Section):
    level: Annotated[int, Field(description="A level.")] = 1


class _Outside(Section):
    token: Annotated[str | None, Env("OTHER_TOKEN"), Field(description="Outside its prefix.")] = None


@pytest.mark.parametrize(
    ("spec", "refusal"),
    [
        (
            SectionSpec("provider_keys", _Shared, "", "X_"),
            "openai_api_key taken by hermes.agent.providers.openai",
        ),
        (SectionSpec("model", _Nested, "", ""), "'model' is a core section"),
        (SectionSpec("tools.enabled", _Nested, "", ""), "'tools.enabled' is a core section"),
        (SectionSpec("logging.level.deep", _Nested, "", ""), "'level' is not a core section"),
        (SectionSpec("nowhere.deep", _Nested, "", ""), "'nowhere' is not a core section"),
        (SectionSpec("thing", _Outside, "", "THING_"), "OTHER_TOKEN do not start with THING_"),
        (SectionSpec("thing", _Outside, "", ""), "env prefix '' is not like 'NAME_'"),
    ],
)
def test_a_bad_declaration_is_refused_by_name(spec: SectionSpec, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        register_section(spec)


def test_a_section_without_environment_names_needs_no_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    # Registered into a copy of the registry, so that the other tests (the generated docs) do not see it.
    monkeypatch.setattr(sections, "_sections", dict(sections._sections))
    spec = SectionSpec("tools.test_only_block", _Nested, "", "", prefix_rule=PrefixRule.OWNED)
    register_section(spec)
    assert Settings.model_validate({"tools": {"test_only_block": {"level": 3}}}).section(_Nested).level == 3
