"""Hermes as a Matrix bot: the platform the gateway starts when MATRIX_HOMESERVER and credentials are set.

mautrix (an optional dependency) is imported when the platform starts, not when it registers, so the
gateway runs without it when Matrix is not configured.

With MATRIX_E2EE_MODE=required, encryption that cannot run (python-olm missing, a crypto store of another
device, a stale identity on the server) makes `start` raise `E2EERequired`, a `StartRefused`: the
gateway stops the platform instead of retrying, since only the operator can fix it (see `crypto/setup.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hermes.platforms.base import (
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
from hermes.platforms.matrix.options import MatrixOptions
from hermes.platforms.matrix.settings import MatrixSettings
from hermes.platforms.matrix.setup import WIZARD

if TYPE_CHECKING:
    from hermes.config import LoadedConfig
    from hermes.platforms.matrix.crypto.engine import E2EE
    from hermes.platforms.matrix.http import MatrixHTTP
    from hermes.platforms.matrix.late_events import LateEvents
    from hermes.platforms.matrix.sender import Sender
    from hermes.platforms.matrix.session import Credentials
    from hermes.platforms.matrix.signals import Signals
    from hermes.platforms.matrix.sync import SyncLoop
    from hermes.platforms.matrix.voice import OpenAITranscriber

log = logging.getLogger(__name__)

_STOP_TIMEOUT = 5.0


@dataclass
class Connection:
    """Everything that exists while the platform is connected."""

    http: MatrixHTTP
    credentials: Credentials
    sender: Sender
    signals: Signals
    sync: SyncLoop
    transcriber: OpenAITranscriber | None
    e2ee: E2EE | None
    late: LateEvents
    task: asyncio.Task[None] | None = None


@register
class MatrixPlatform(Platform):
    name: ClassVar[str] = "matrix"
    max_message_chars: int = 16_000
    can_edit: bool = True
    # Matrix typing notices last 30 s; renewing every 20 s keeps them on without chatter.
    typing_refresh_seconds: ClassVar[float] = 20.0
    prompt_hint: ClassVar[str] = (
        "You are chatting on Matrix. Markdown is rendered; keep messages readable on a phone."
    )
    label: ClassVar[str] = "Matrix"
    summary: ClassVar[str] = "The Matrix platform: a bot account on any homeserver, with optional E2EE."
    settings: ClassVar[type[MatrixSettings]] = MatrixSettings
    env_prefix: ClassVar[str] = "MATRIX_"
    extra: ClassVar[str | None] = "matrix"
    wizard = WIZARD
    commands: ClassVar[Commands | None] = Commands(
        "matrix", "hermes.platforms.matrix.cli:app", "Matrix: end-to-end encryption status and recovery."
    )
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (
        Trouble(
            "The bot does not join when invited.",
            "Invites are accepted only from allowed users: add yours to `MATRIX_ALLOWED_USERS` "
            "(`@you:your.server`).",
        ),
        Trouble(
            "The bot is in the room but does not answer.",
            "In rooms it answers only when mentioned; mention it, add the room to "
            "`MATRIX_FREE_RESPONSE_ROOMS`, or set `MATRIX_REQUIRE_MENTION=false`.",
        ),
        Trouble(
            "Encrypted rooms get no answer.",
            "Set `MATRIX_E2EE_MODE=optional` (or `required`) and install the extra: "
            "`pip install 'hermes-gateway[matrix]'`; `hermes matrix status` shows the keys' state.",
        ),
        Trouble(
            "`gateway status` shows Matrix stopped with `credentials rejected`.",
            "The access token was logged out: create a new one (Element → Settings → Help & About → "
            "Advanced) or use `MATRIX_USER_ID` + `MATRIX_PASSWORD`, and restart.",
        ),
    )

    def __init__(
        self,
        options: MatrixOptions,
        transcriber_factory: Callable[[], OpenAITranscriber | None] = lambda: None,
    ) -> None:
        self.options = options
        self.access = options.access
        self.max_message_chars = options.max_message_chars
        self.default_home = ChatRef(self.name, options.home_room, "group") if options.home_room else None
        self.transcriber_factory = transcriber_factory
        self.connection: Connection | None = None
        self._background: set[asyncio.Task[Any]] = set()

    @classmethod
    def create(cls, config: LoadedConfig) -> MatrixPlatform:
        from hermes.platforms.matrix.voice import transcriber_for

        return cls(MatrixOptions.from_config(config), lambda: transcriber_for(config.settings))

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        from hermes.platforms.matrix.checks import matrix_checks

        return await matrix_checks(config)

    def status_fields(self) -> dict[str, StatusValue]:
        connection = self.connection
        return {
            "homeserver": self.options.login.homeserver,
            "user": connection.credentials.user_id if connection is not None else None,
            "e2ee": self.options.e2ee_mode,
        }

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self, hub: HubPort) -> None:
        # Importing the adapter (mautrix, its crypto, the renderer) takes a second on a busy host: off
        # the event loop, so the lease renewals and the other platforms are not held up meanwhile.
        await asyncio.to_thread(_import_adapter, self.options.e2ee_mode != "off")
        from hermes.platforms.matrix.http import open_http

        since = await hub.load_cursor(self.name)
        http = open_http(self.options.login.homeserver)
        try:
            connection = await self._connect(http, hub)
        except BaseException:
            await http.close()
            raise
        self.connection = connection
        # Created last, with nothing awaited after it: the hub's replay of unanswered events (run as soon
        # as start returns) reads the inbox before this loop can add anything to it.
        connection.task = asyncio.create_task(connection.sync.run(since))
        connection.task.add_done_callback(self._sync_ended)

    async def _connect(self, http: MatrixHTTP, hub: HubPort) -> Connection:
        from hermes.platforms.matrix.crypto.setup import start_e2ee
        from hermes.platforms.matrix.session import establish

        credentials = await establish(
            http, self.options.login, self.options.state_dir, known_device=_shared_device(self.options)
        )
        e2ee = await start_e2ee(http, credentials, self.options)
        try:
            return await self._assemble(http, hub, credentials, e2ee)
        except BaseException:
            if e2ee is not None:
                await e2ee.close()
            raise

    async def _assemble(
        self, http: MatrixHTTP, hub: HubPort, credentials: Credentials, e2ee: E2EE | None
    ) -> Connection:
        from hermes.platforms.matrix.addressing import BotIdentity
        from hermes.platforms.matrix.batch import BatchReader, Decryption
        from hermes.platforms.matrix.inbound import EventReader, InboundContext
        from hermes.platforms.matrix.invites import InviteHandler
        from hermes.platforms.matrix.late_events import LateEvents
        from hermes.platforms.matrix.media import MediaFetcher
        from hermes.platforms.matrix.room_encryption import RoomEncryption
        from hermes.platforms.matrix.rooms import DirectRooms, RoomDirectory, ThreadBook
        from hermes.platforms.matrix.sender import Sender
        from hermes.platforms.matrix.signals import Signals
        from hermes.platforms.matrix.sync import SyncLoop
        from hermes.platforms.matrix.undecryptable import UndecryptableNotices

        options = self.options
        user_id = credentials.user_id
        identity = BotIdentity(user_id, await _display_name(http, user_id))
        rooms = RoomDirectory(http)
        direct = DirectRooms(http, user_id)
        await direct.load()
        threads = ThreadBook(http, user_id)
        encryption = RoomEncryption(http, off_reason=_off_reason(options, e2ee))
        sender = Sender(http, user_id, threads, encryption=encryption, e2ee=e2ee)
        signals = Signals(http, user_id)
        # Off the event loop: making the speech-to-text client imports openai, a second on a busy host.
        transcriber = await asyncio.to_thread(self.transcriber_factory)

        def is_allowed(user: str) -> bool:
            return hub.is_allowed(self.name, user)

        reader = EventReader(
            InboundContext(
                identity=identity,
                options=options,
                rooms=rooms,
                direct=direct,
                threads=threads,
                media=MediaFetcher(http, options.media_dir, options.max_media_bytes),
                sender=sender,
                signals=signals,
                transcriber=transcriber,
                is_allowed=is_allowed,
                is_command=hub.is_command,
                spawn=self._spawn,
            )
        )
        invites = InviteHandler(http, user_id, direct, is_allowed)
        late = LateEvents(hub)
        decryption = Decryption(
            encryption, e2ee, late, UndecryptableNotices(sender.send_text, is_allowed, self._spawn)
        )
        batches = BatchReader(http, user_id, reader, invites, rooms, direct, decryption)
        sync = SyncLoop(http, hub, batches.read, user_id, on_rejected=self._credentials_rejected, late=late)
        log.info("matrix: signed in as %s (device %s)", user_id, credentials.device_id)
        return Connection(http, credentials, sender, signals, sync, transcriber, e2ee, late)

    async def stop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if connection.task is not None:
            connection.task.cancel()
            await asyncio.gather(connection.task, return_exceptions=True)
        await connection.late.close()
        if self._background:
            await asyncio.wait(set(self._background), timeout=_STOP_TIMEOUT)
            for task in self._background:
                task.cancel()
        await connection.signals.close()
        if connection.transcriber is not None:
            await connection.transcriber.close()
        try:
            if connection.e2ee is not None:
                await connection.e2ee.close()
        finally:
            await connection.http.close()

    def _credentials_rejected(self, exc: BaseException) -> None:
        errcode = getattr(exc, "errcode", None) or f"HTTP {getattr(exc, 'http_status', '?')}"
        self.problem = f"credentials rejected ({errcode}): the access token is no longer valid"
        self.halted = True
        log.error(
            "matrix: the homeserver rejected the access token (%s); Matrix is stopped until restart — "
            "set a new MATRIX_ACCESS_TOKEN (or MATRIX_PASSWORD) and restart the gateway",
            errcode,
        )

    def _sync_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.problem = f"sync stopped: {task.exception()!r}"
            self.halted = True
            log.error("matrix: the sync loop stopped", exc_info=task.exception())

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("matrix: background request failed: %s", task.exception())

    # -- sending -------------------------------------------------------------------------------------

    def _sender(self) -> Sender:
        if self.connection is None:
            raise ConnectionError("matrix is not connected")
        return self.connection.sender

    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef:
        sender = self._sender()
        sent: list[str] = []
        if text.strip() or not attachments:
            sent.append(await sender.send_text(chat, text, idempotency_key=idempotency_key))
        for index, attachment in enumerate(attachments):
            key = f"{idempotency_key}:file:{index}"
            sent.append(await sender.send_file(chat, attachment, idempotency_key=key))
        return MessageRef(chat, sent[0])

    async def edit(self, ref: MessageRef, text: str) -> None:
        await self._sender().edit(ref.chat.chat_id, ref.message_id, text)

    async def typing(self, chat: ChatRef, on: bool) -> None:
        connection = self.connection
        if connection is None:
            raise ConnectionError("matrix is not connected")
        # An encrypted room the bot cannot answer in gets nothing, not even a typing notice.
        if connection.e2ee is None and await connection.sender.encryption.is_encrypted(chat.chat_id):
            return
        await connection.signals.typing(chat.chat_id, on)


_ADAPTER_MODULES = (
    "hermes.platforms.matrix.http",
    "hermes.platforms.matrix.session",
    "hermes.platforms.matrix.batch",
    "hermes.platforms.matrix.inbound",
    "hermes.platforms.matrix.sender",
    "hermes.platforms.matrix.sync",
    "hermes.platforms.matrix.voice",
)
_CRYPTO_MODULES = ("hermes.platforms.matrix.crypto.engine", "hermes.platforms.matrix.crypto.store")


def _import_adapter(crypto: bool) -> None:
    for name in _ADAPTER_MODULES:
        importlib.import_module(name)
    if crypto:
        # Without python-olm this fails; `start_e2ee` says why, by mode.
        with contextlib.suppress(ImportError, OSError):
            for name in _CRYPTO_MODULES:
                importlib.import_module(name)


def _shared_device(options: MatrixOptions) -> Callable[[str], Awaitable[str | None]] | None:
    """On PostgreSQL with encryption, replicas log in to the device of the shared crypto store."""
    url = options.database_url
    if url is None or options.e2ee_mode == "off":
        return None

    async def device_of(user_id: str) -> str | None:
        from hermes.platforms.matrix.crypto.store_pg import device_of

        return await device_of(url, user_id)

    return device_of


def _off_reason(options: MatrixOptions, e2ee: E2EE | None) -> str | None:
    """Why the bot cannot encrypt, for the one log line per encrypted room; None when it can."""
    if e2ee is not None:
        return None
    if options.e2ee_mode == "off":
        return "end-to-end encryption is off (MATRIX_E2EE_MODE)"
    return "end-to-end encryption could not start (see the error logged at start)"


async def _display_name(http: MatrixHTTP, user_id: str) -> str | None:
    from hermes.platforms.matrix.http import Method, client_path

    try:
        profile = await http.request(Method.GET, client_path("profile/{}/displayname", user_id))
    except Exception as exc:
        if getattr(exc, "http_status", None) == 404:
            return None
        raise
    name = profile.get("displayname")
    return name if isinstance(name, str) else None
