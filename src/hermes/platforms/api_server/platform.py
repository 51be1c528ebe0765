"""The OpenAI-compatible API server (registered as "api_server"), enabled by `API_SERVER_ENABLED`.

Request-driven: it pushes nothing to `hub.receive`; each chat request runs the agent through
`hub.run_request` and streams the events back. Behaviour a client can rely on:

- The key (`Authorization: Bearer <API_SERVER_KEY>`) is the only authorization: there is no allowlist. A
  key shorter than 16 characters or a placeholder stops the daemon; no key at all gets one generated into
  `.env` (mode 0600) at first start.
- Models: a request's `model` is never refused (see `models.py`); `/v1/models` lists the advertised name
  (`api_server.model_name`), `api_server.model_aliases` and `api_server.model_routes`.
- Sessions: see `chat.py` (`X-Hermes-Session-Id`, hub key `api_server:session:<id>`).
- Tools that ask for approval get "no": an HTTP client has no way to answer mid-run.

aiohttp's server and prometheus-client are imported on start, not at registration, so a gateway without the
API server does not load them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from hermes.config import ConfigError
from hermes.platforms.api_server.keys import ENV_NAME, key_problem, new_key, redact_from_logs, write_key
from hermes.platforms.api_server.models import ModelCatalog
from hermes.platforms.api_server.settings import ApiServerSettings
from hermes.platforms.api_server.setup import WIZARD
from hermes.platforms.base import (
    AccessList,
    Attachment,
    ChatRef,
    Check,
    Commands,
    HubPort,
    MessageRef,
    Platform,
    StatusValue,
    Trouble,
    register,
)

if TYPE_CHECKING:
    from aiohttp import web

    from hermes.config import LoadedConfig
    from hermes.platforms.api_server.admission import Admission
    from hermes.platforms.api_server.chat import ChatCompletions
    from hermes.platforms.api_server.responses import ResponsesApi
    from hermes.platforms.api_server.runs_api import RunsApi

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
_KEY_SETTING = "api_server.key"


@dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    key: str | None
    env_file: Path
    models: ModelCatalog
    max_body_bytes: int
    max_concurrent_runs: int
    metrics_public: bool
    cors_origins: tuple[str, ...]
    shutdown_grace_seconds: float
    keepalive_seconds: float = KEEPALIVE_SECONDS

    @classmethod
    def from_config(cls, config: LoadedConfig) -> ServerOptions:
        api = config.section(ApiServerSettings)
        return cls(
            host=api.host,
            port=api.port,
            key=api.key or None,
            env_file=config.paths.env_file,
            models=ModelCatalog.from_settings(api),
            max_body_bytes=api.max_body_bytes,
            max_concurrent_runs=api.max_concurrent_runs,
            metrics_public=api.metrics_public,
            cors_origins=tuple(api.cors_origins),
            shutdown_grace_seconds=config.settings.gateway.shutdown_grace_seconds,
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _key_error(config: LoadedConfig, problem: str) -> ConfigError:
    origin = config.origins.get(_KEY_SETTING, "config.yaml")
    source = f"{origin} as {ENV_NAME}" if origin != "config.yaml" else origin
    return ConfigError(
        [
            f"config error: {_KEY_SETTING} = (redacted) (from {source}): {problem}; "
            f"set {ENV_NAME} to a long random value (e.g. `openssl rand -hex 32`), or remove it to have "
            "one generated"
        ]
    )


@register
class ApiServerPlatform(Platform):
    name: ClassVar[str] = "api_server"
    # Request-driven: every replica serves the API at once; runs on one session are serialised in the hub.
    exclusive: ClassVar[bool] = False
    # Answers go back whole in the HTTP response; nothing is split.
    max_message_chars: int = 1_000_000
    can_edit: bool = False
    prompt_hint: ClassVar[str] = (
        "You are answering through an OpenAI-compatible API; the client decides how text is shown."
    )
    label: ClassVar[str] = "API server"
    summary: ClassVar[str] = (
        "The OpenAI-compatible HTTP API (chat completions, Responses, runs, sessions, jobs; see docs/api.md)."
    )
    commands: ClassVar[Commands | None] = Commands(
        "api", "hermes.platforms.api_server.cli:app", "The API server's keys: the admin key, and client keys."
    )
    settings: ClassVar[type[ApiServerSettings]] = ApiServerSettings
    env_prefix: ClassVar[str] = "API_SERVER_"
    quick_start: ClassVar[str | None] = "API_SERVER_ENABLED=true"
    wizard = WIZARD
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (
        Trouble(
            "The gateway stops at start naming `api_server.key`.",
            "The key is shorter than 16 characters or a placeholder: set `API_SERVER_KEY` to a long random "
            "value (`openssl rand -hex 32`), or remove it to have one generated into `.env`.",
        ),
        Trouble(
            "Clients get `401 invalid_api_key`.",
            "They must send `Authorization: Bearer <API_SERVER_KEY>`; the key is in `HERMES_HOME/.env`.",
        ),
        Trouble(
            "Clients on other machines cannot connect.",
            "The server listens on 127.0.0.1 by default; set `API_SERVER_HOST=0.0.0.0` (the key is then "
            "all that protects the agent).",
        ),
    )

    def __init__(self, options: ServerOptions, config: LoadedConfig) -> None:
        self.options = options
        self.config = config
        self.access = AccessList(allow_all=True)
        self.key = options.key
        self.chat: ChatCompletions | None = None
        self.admission: Admission | None = None
        self.runs: RunsApi | None = None
        self.responses: ResponsesApi | None = None
        self._runner: web.AppRunner | None = None

    @classmethod
    def create(cls, config: LoadedConfig) -> ApiServerPlatform:
        """Raises ConfigError for a key too weak to protect the agent."""
        options = ServerOptions.from_config(config)
        if options.key is not None and (problem := key_problem(options.key)) is not None:
            raise _key_error(config, problem)
        return cls(options, config)

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        api = config.section(ApiServerSettings)
        where = f"{api.host}:{api.port}"
        if not api.key:
            return [Check(True, f"api_server: {where}; no key yet, one is generated into .env at start")]
        problem = key_problem(api.key)
        if problem is not None:
            return [Check(False, f"api_server: {ENV_NAME} is {problem}", f"set {ENV_NAME} to a random value")]
        if not is_loopback(api.host):
            # Deliberate for proxy mode and containers, so not a failure; the operator should still know.
            return [
                Check(
                    True,
                    f"api_server: {where}, key set; reachable from the network, the key is all "
                    "that protects the agent",
                )
            ]
        return [Check(True, f"api_server: {where}, key set")]

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0); 0 before start."""
        if self._runner is None:
            return 0
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        host = self.options.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def status_fields(self) -> dict[str, StatusValue]:
        return {"url": self.url if self._runner is not None else None}

    async def start(self, hub: HubPort) -> None:
        from aiohttp import web

        from hermes.gateway.api_backend import GatewayApiBackend
        from hermes.gateway.hub import Hub
        from hermes.platforms.api_server.admission import Admission
        from hermes.platforms.api_server.chat import ChatCompletions, ChatOptions
        from hermes.platforms.api_server.discovery import Discovery
        from hermes.platforms.api_server.endpoints import EndpointGroup
        from hermes.platforms.api_server.idempotency import IdempotencyCache
        from hermes.platforms.api_server.jobs_api import JobsApi
        from hermes.platforms.api_server.metrics import ApiMetrics
        from hermes.platforms.api_server.responses import ResponsesApi, Retention
        from hermes.platforms.api_server.routes import AppOptions, build_app
        from hermes.platforms.api_server.runs import RunRegistry
        from hermes.platforms.api_server.runs_api import RunsApi
        from hermes.platforms.api_server.session_store import ApiSessions
        from hermes.platforms.api_server.sessions_api import SessionsApi

        options = self.options
        if self.key is None:
            self.key = await self._generate_key()
        admission = self.admission = Admission(options.max_concurrent_runs)
        idempotency = IdempotencyCache()
        metrics = ApiMetrics(lambda: admission.in_flight)
        # The backend is the gateway's side of the API server; the hub is the gateway's only HubPort.
        assert isinstance(hub, Hub)
        backend = GatewayApiBackend(hub, self.config)
        owners = ApiSessions(backend.store.db)
        self.chat = ChatCompletions(
            hub,
            ChatOptions(options.models, options.keepalive_seconds),
            admission,
            idempotency,
            metrics,
            owners,
        )
        api = self.config.section(ApiServerSettings)
        self.responses = ResponsesApi(
            hub,
            backend.store,
            admission,
            idempotency,
            options.models,
            Retention(api.response_retention_days, api.max_stored_responses),
            options.keepalive_seconds,
            owners,
        )
        self.responses.start_pruning()
        self.runs = RunsApi(
            hub,
            backend,
            RunRegistry(),
            admission,
            options.models,
            options.keepalive_seconds,
            owners,
            self.responses,
        )
        sessions = SessionsApi(hub, backend.store, owners, admission, options.keepalive_seconds)
        groups: list[EndpointGroup] = [self.chat, self.responses, self.runs, sessions, JobsApi(backend.jobs)]
        discovery = Discovery(backend, options.models.name, bool(options.cors_origins), groups)
        app = build_app(
            AppOptions(
                self.key, options.models, options.max_body_bytes, options.metrics_public, options.cors_origins
            ),
            discovery.groups,
            metrics,
            backend.store.api_keys,
        )
        runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=options.shutdown_grace_seconds,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, options.host, options.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if not is_loopback(options.host):
            log.warning(
                "api_server: listening on %s, reachable from the network: the API key is all that "
                "protects the agent and its tools",
                options.host,
            )
        log.info("api_server: listening on %s", self.url)

    async def _generate_key(self) -> str:
        key = new_key()
        redact_from_logs(key)
        await asyncio.to_thread(write_key, self.options.env_file, key)
        log.warning(
            "api_server: no %s was set; generated one and saved it in %s (clients need it as their "
            "bearer token)",
            ENV_NAME,
            self.options.env_file,
        )
        return key

    async def stop(self) -> None:
        """Stops listening at once; requests in flight get up to the shutdown grace period to finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self.runs is not None:
            await self.runs.close()
        if self.responses is not None:
            await self.responses.close()

    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef:
        """Only a run's approval question is "posted": its followers see it as `approval.request`. The API
        server has no chat of its own to post anything else to."""
        # The gateway's approvals name the question in the key: `<event>:approval:<question id>`.
        _, marker, question_id = idempotency_key.rpartition(":approval:")
        if marker and self.runs is not None and self.runs.deliver_question(chat.chat_id, question_id, text):
            return MessageRef(chat, idempotency_key)
        raise LookupError("the API server only answers requests; it cannot post messages on its own")
