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
E2EEMode = Literal["off", "optional", "required"]


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


class ApiServerSettings(Section):
    enabled: Annotated[bool, Env("API_SERVER_ENABLED")] = False
    key: Annotated[str | None, Env("API_SERVER_KEY"), Secret] = None
    host: Annotated[str, Env("API_SERVER_HOST")] = "127.0.0.1"
    port: Annotated[int, Env("API_SERVER_PORT"), Field(ge=0, le=65535)] = 8642
    cors_origins: Annotated[list[str], Env("API_SERVER_CORS_ORIGINS")] = []
    metrics_public: bool = False
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    max_concurrent_runs: Annotated[int, Field(ge=1)] = 32
    model_aliases: list[str] = []
    model_name: Annotated[str, Env("API_SERVER_MODEL_NAME"), Field(min_length=1, max_length=255)] = (
        "hermes-agent"
    )
    # alias -> {model: <id>}: a model name API clients may send that runs another model (see the API server).
    model_routes: dict[str, Any] = {}
    response_retention_days: Annotated[float, Field(gt=0)] = 30.0
    max_stored_responses: Annotated[int, Field(ge=1)] = 10_000


class MatrixSettings(Section):
    homeserver: Annotated[str | None, Env("MATRIX_HOMESERVER")] = None
    access_token: Annotated[str | None, Env("MATRIX_ACCESS_TOKEN"), Secret] = None
    user_id: Annotated[str | None, Env("MATRIX_USER_ID")] = None
    password: Annotated[str | None, Env("MATRIX_PASSWORD"), Secret] = None
    device_id: Annotated[str | None, Env("MATRIX_DEVICE_ID")] = None
    allowed_users: Annotated[list[str], Env("MATRIX_ALLOWED_USERS")] = []
    allow_all_users: Annotated[bool, Env("MATRIX_ALLOW_ALL_USERS")] = False
    encryption: Annotated[bool, Env("MATRIX_ENCRYPTION")] = False
    e2ee_mode: Annotated[E2EEMode | None, Env("MATRIX_E2EE_MODE")] = None
    recovery_key: Annotated[str | None, Env("MATRIX_RECOVERY_KEY"), Secret] = None
    home_room: Annotated[str | None, Env("MATRIX_HOME_ROOM")] = None
    require_mention: Annotated[bool, Env("MATRIX_REQUIRE_MENTION")] = True
    free_response_rooms: Annotated[list[str], Env("MATRIX_FREE_RESPONSE_ROOMS")] = []
    auto_thread: Annotated[bool, Env("MATRIX_AUTO_THREAD")] = True
    dm_mention_threads: Annotated[bool, Env("MATRIX_DM_MENTION_THREADS")] = False
    process_notices: bool = False
    ignore_user_patterns: list[str] = []
    max_media_bytes: Annotated[int, Field(ge=0)] = 50 * 1024 * 1024
    max_message_chars: Annotated[int, Field(ge=100, le=60_000)] = 16_000

    @property
    def configured(self) -> bool:
        return bool(self.homeserver and (self.access_token or (self.user_id and self.password)))

    @property
    def effective_e2ee_mode(self) -> E2EEMode:
        """`MATRIX_E2EE_MODE` wins; the older `MATRIX_ENCRYPTION=true` means required."""
        if self.e2ee_mode is not None:
            return self.e2ee_mode
        return "required" if self.encryption else "off"


class MattermostSettings(Section):
    url: Annotated[str | None, Env("MATTERMOST_URL")] = None
    token: Annotated[str | None, Env("MATTERMOST_TOKEN"), Secret] = None
    allowed_users: Annotated[list[str], Env("MATTERMOST_ALLOWED_USERS")] = []
    allow_all_users: Annotated[bool, Env("MATTERMOST_ALLOW_ALL_USERS")] = False
    home_channel: Annotated[str | None, Env("MATTERMOST_HOME_CHANNEL")] = None
    reply_mode: Annotated[Literal["thread", "off"], Env("MATTERMOST_REPLY_MODE")] = "off"
    require_mention: Annotated[bool, Env("MATTERMOST_REQUIRE_MENTION")] = True
    free_response_channels: Annotated[list[str], Env("MATTERMOST_FREE_RESPONSE_CHANNELS")] = []
    max_message_chars: Annotated[int, Field(ge=100, le=16_383)] = 16_383
    max_file_bytes: Annotated[int, Field(ge=0)] = 50 * 1024 * 1024

    @property
    def configured(self) -> bool:
        return bool(self.url and self.token)


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
    api_server: ApiServerSettings = ApiServerSettings()
    matrix: MatrixSettings = MatrixSettings()
    mattermost: MattermostSettings = MattermostSettings()
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
