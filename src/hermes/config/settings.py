"""Typed settings: every core key the daemon reads, its default, its environment twin and whether it is
secret. Platforms, providers and tools declare theirs in their own modules (`sections.py`); `Settings.section`
reads them from the same tree.

A field's environment twin is declared next to it with `Env("NAME")`; the loader overrides the config.yaml
value with it. `Secret` marks values that must never reach a log line or `config show` output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hermes.config.providers import OneOfProviders, default_model, default_provider


@dataclass(frozen=True)
class Env:
    """The environment variable(s) that override this field, highest priority first."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)


class _SecretMarker:
    def __repr__(self) -> str:
        return "Secret"


Secret = _SecretMarker()


class Section(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True, frozen=True)


S = TypeVar("S", bound=Section)


class ModelSettings(Section):
    # The registered providers (agent/providers); the defaults are the default provider's.
    provider: Annotated[
        str,
        Env("HERMES_INFERENCE_PROVIDER"),
        AfterValidator(OneOfProviders()),
        Field(default_factory=default_provider),
    ]
    default: Annotated[str, Env("HERMES_MODEL"), Field(default_factory=default_model)]
    base_url: str | None = None
    api_key: Annotated[str | None, Secret] = None
    context_length: Annotated[int, Field(ge=1024)] = 128_000
    max_output_tokens: Annotated[int, Field(ge=1)] = 4096
    max_retries: Annotated[int, Field(ge=0, le=20)] = 4
    retry_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 120.0


class StoreSettings(Section):
    url: Annotated[str | None, Env("HERMES_DATABASE_URL"), Secret] = None
    pool_size: Annotated[int, Field(ge=1, le=64)] = 4
    lease_seconds: Annotated[float, Field(ge=1, le=300)] = 10.0

    @field_validator("url")
    @classmethod
    def _postgresql_only(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (leave it unset to keep state.db)")
        return value or None

    def target(self, state_db: Path) -> str | Path:
        """Where the store lives: the PostgreSQL URL when one is set, else state.db."""
        return self.url or state_db


class GatewaySettings(Section):
    allowed_users: Annotated[list[str], Env("GATEWAY_ALLOWED_USERS")] = []
    allow_all_users: Annotated[bool, Env("GATEWAY_ALLOW_ALL_USERS")] = False
    # Whose memory is memories/USER.md and who may /sethome. Empty: a platform whose allowlists name one
    # user and allow nobody else has that user as its owner.
    owners: Annotated[list[str], Env("GATEWAY_OWNERS")] = []
    # Messages one person may send per minute on a chat platform before the bot stops answering them for
    # the rest of that minute; 0 turns the limit off.
    user_messages_per_minute: Annotated[int, Field(ge=0)] = 20
    proxy_url: Annotated[str | None, Env("GATEWAY_PROXY_URL")] = None
    proxy_key: Annotated[str | None, Env("GATEWAY_PROXY_KEY"), Secret] = None
    shutdown_grace_seconds: Annotated[float, Field(ge=0)] = 20.0
    max_message_age_seconds: Annotated[float, Field(gt=0)] = 24 * 3600
    allow_bots: bool = False
    max_bot_replies: Annotated[int, Field(ge=0)] = 3
    reconnect_min_seconds: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    media_cache_days: Annotated[float, Field(ge=0)] = 7.0
    inbox_retention_days: Annotated[float, Field(ge=0)] = 7.0
    # Modules imported at start so that out-of-tree platforms (and the public test platform) register.
    plugins: list[str] = []


class AgentSettings(Section):
    max_turns: Annotated[int, Field(ge=1)] = 60
    tool_timeout_seconds: Annotated[float, Field(gt=0)] = 300.0
    workspace: str | None = None


class CompressionSettings(Section):
    enabled: bool = True
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    keep_first: Annotated[int, Field(ge=0)] = 3
    keep_last: Annotated[int, Field(ge=1)] = 20


class AuxiliaryModelSettings(Section):
    """A model for one side task (the fleet manager writes these as LiteLLM slots). Unset fields fall back
    to the main `model:` block; `provider` "auto" (or unset) means the main provider, or `custom` when a
    `base_url` is given."""

    provider: str = "auto"
    model: str | None = None
    base_url: str | None = None
    api_key: Annotated[str | None, Secret] = None
    context_length: Annotated[int | None, Field(ge=1024)] = None


class TitleGenerationSettings(AuxiliaryModelSettings):
    """New sessions get titles only when a title model (`model` or `base_url`) is named."""

    enabled: bool = True


class AuxiliarySettings(Section):
    title_generation: TitleGenerationSettings = TitleGenerationSettings()
    compression: AuxiliaryModelSettings = AuxiliaryModelSettings()


# config.yaml keys of the system we are compatible with that this gateway knows but does not implement:
# one info line at start instead of the unknown-key warning.
NOT_IMPLEMENTED_KEYS = frozenset(
    {
        "plugins",
        *(
            f"auxiliary.{role}"
            for role in (
                "transient_retries", "vision", "web_extract", "skills_hub", "approval", "mcp",
                "memory_query_rewrite", "tts_audio_tags", "triage_specifier", "kanban_decomposer",
                "profile_describer", "goal_judge", "curator", "monitor", "background_review",
                "moa_reference", "moa_aggregator",
            )
        ),
    }
)  # fmt: skip


class DisplaySettings(Section):
    busy_input_mode: Literal["interrupt", "queue"] = "interrupt"
    tool_progress: Literal["off", "brief"] = "off"


class ToolsSettings(Section):
    enabled: list[str] = []
    disabled: list[str] = []


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: Annotated[int, Field(ge=10_000)] = 10 * 1024 * 1024
    backup_count: Annotated[int, Field(ge=0)] = 5


class DashboardSettings(Section):
    token: Annotated[str | None, Env("HERMES_DASHBOARD_TOKEN"), Secret] = None
    tui: Annotated[bool, Env("HERMES_DASHBOARD_TUI")] = False


class Settings(Section):
    """The core's settings, and through `section` those of every registered extension (platforms,
    providers, tools), validated from the same tree."""

    # A factory: the default names the default provider, known once the providers have registered.
    model: ModelSettings = Field(default_factory=lambda: ModelSettings.model_validate({}))
    gateway: GatewaySettings = GatewaySettings()
    store: StoreSettings = StoreSettings()
    group_sessions_per_user: bool = True
    thread_sessions_per_user: bool = False
    agent: AgentSettings = AgentSettings()
    compression: CompressionSettings = CompressionSettings()
    auxiliary: AuxiliarySettings = AuxiliarySettings()
    display: DisplaySettings = DisplaySettings()
    tools: ToolsSettings = ToolsSettings()
    mcp_servers: dict[str, dict[str, Any]] = {}
    logging: LoggingSettings = LoggingSettings()
    dashboard: DashboardSettings = DashboardSettings()

    # The tree validated, for the extensions' blocks, and their settings once read.
    _tree: Mapping[str, Any] = PrivateAttr(default_factory=dict)
    _sections: dict[type[Section], Section] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_tree(cls, data: Any, handler: Callable[[Any], Settings], info: ValidationInfo) -> Settings:
        settings = handler(data)
        if isinstance(data, Mapping):
            settings._tree = data
        # The loader validates the extensions' blocks itself, to name a bad value with its origin.
        if info.context and SECTIONS_CONTEXT in info.context:
            settings._sections.update(info.context[SECTIONS_CONTEXT])
        return settings

    def section(self, model: type[S]) -> S:
        """An extension's settings, e.g. `settings.section(MatrixSettings)`: validated from its block of
        the tree these settings came from; its defaults when it is not a registered section."""
        found = self._sections.get(model)
        if isinstance(found, model):
            return found
        from hermes.config.sections import section_for

        try:
            key = section_for(model).key
        except LookupError:
            return model()
        node: Any = self._tree
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        value = model.model_validate(node if isinstance(node, Mapping) else {})
        self._sections[model] = value
        return value


SECTIONS_CONTEXT = "hermes.sections"
