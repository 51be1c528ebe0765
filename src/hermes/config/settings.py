"""Typed settings: every key the daemon reads, its default, its environment twin and whether it is secret.

A field's environment twin is declared next to it with `Env("NAME")`; the loader overrides the config.yaml
value with it. `Secret` marks values that must never reach a log line or `config show` output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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

ProviderName = Literal["openrouter", "anthropic", "openai", "bedrock", "custom"]


class Section(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True, frozen=True)


class ModelSettings(Section):
    provider: Annotated[ProviderName, Env("HERMES_INFERENCE_PROVIDER")] = "openrouter"
    default: Annotated[str, Env("HERMES_MODEL")] = "anthropic/claude-sonnet-4"
    base_url: str | None = None
    api_key: Annotated[str | None, Secret] = None
    context_length: Annotated[int, Field(ge=1024)] = 128_000
    max_output_tokens: Annotated[int, Field(ge=1)] = 4096
    max_retries: Annotated[int, Field(ge=0, le=20)] = 4
    retry_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 120.0


class ProviderKeys(Section):
    openrouter_api_key: Annotated[str | None, Env("OPENROUTER_API_KEY"), Secret] = None
    anthropic_api_key: Annotated[str | None, Env("ANTHROPIC_API_KEY"), Secret] = None
    openai_api_key: Annotated[str | None, Env("OPENAI_API_KEY"), Secret] = None
    aws_access_key_id: Annotated[str | None, Env("AWS_ACCESS_KEY_ID"), Secret] = None
    aws_secret_access_key: Annotated[str | None, Env("AWS_SECRET_ACCESS_KEY"), Secret] = None
    aws_session_token: Annotated[str | None, Env("AWS_SESSION_TOKEN"), Secret] = None


class BedrockSettings(Section):
    region: Annotated[str | None, Env("AWS_DEFAULT_REGION", "AWS_REGION")] = None


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


class DisplaySettings(Section):
    busy_input_mode: Literal["interrupt", "queue"] = "interrupt"
    tool_progress: Literal["off", "brief"] = "off"


class TerminalToolSettings(Section):
    enabled: bool = False
    allow: list[str] = []
    auto_approve: bool = False
    timeout_seconds: Annotated[float, Field(gt=0)] = 120.0
    approval_timeout_seconds: Annotated[float, Field(gt=0)] = 300.0
    max_output_chars: Annotated[int, Field(ge=100)] = 20_000


class WebToolSettings(Section):
    allow_private: bool = False
    timeout_seconds: Annotated[float, Field(gt=0)] = 20.0
    max_bytes: Annotated[int, Field(ge=1024)] = 2 * 1024 * 1024


class ToolsSettings(Section):
    enabled: list[str] = []
    disabled: list[str] = []
    terminal: TerminalToolSettings = TerminalToolSettings()
    web: WebToolSettings = WebToolSettings()


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: Annotated[int, Field(ge=10_000)] = 10 * 1024 * 1024
    backup_count: Annotated[int, Field(ge=0)] = 5


class DashboardSettings(Section):
    token: Annotated[str | None, Env("HERMES_DASHBOARD_TOKEN"), Secret] = None
    tui: Annotated[bool, Env("HERMES_DASHBOARD_TUI")] = False


class Settings(Section):
    model: ModelSettings = ModelSettings()
    provider_keys: ProviderKeys = ProviderKeys()
    bedrock: BedrockSettings = BedrockSettings()
    gateway: GatewaySettings = GatewaySettings()
    store: StoreSettings = StoreSettings()
    group_sessions_per_user: bool = True
    thread_sessions_per_user: bool = False
    agent: AgentSettings = AgentSettings()
    compression: CompressionSettings = CompressionSettings()
    display: DisplaySettings = DisplaySettings()
    tools: ToolsSettings = ToolsSettings()
    mcp_servers: dict[str, dict[str, Any]] = {}
    logging: LoggingSettings = LoggingSettings()
    dashboard: DashboardSettings = DashboardSettings()
