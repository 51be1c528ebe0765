"""A real mautrix client acting as the human user: it sends what a person's client would send and records
everything it receives, so a test can wait for the bot's reply and assert on its raw content.

    human = await matrix_humans.new(synapse)
    room_id = await human.create_room(invite=[bot.user_id], direct=True)
    sent = await human.send_text(room_id, "hello")
    reply = await human.wait_for_message(room_id, after=sent)
    assert reply.content["format"] == "org.matrix.custom.html"
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.client import Client, InternalEventType
from mautrix.client.syncer import EventHandlerProps
from mautrix.crypto.attachments import decrypt_attachment, encrypt_attachment
from mautrix.types import (
    ContentURI,
    EventType,
    Filter,
    RoomCreatePreset,
    RoomEventFilter,
    RoomFilter,
    RoomID,
    UserID,
)
from mautrix.util import background_task

from tests.harness.matrix_content import (
    edit_content,
    media_content,
    reaction_content,
    reply_relation,
    text_content,
    thread_relation,
)
from tests.harness.matrix_crypto import MEGOLM, CryptoStores, Encryption
from tests.harness.matrix_timeline import Predicate, ReceivedEvent, Timeline
from tests.harness.synapse_server import MatrixAccount, SynapseServer

DEFAULT_TIMEOUT_S = 10.0
_CONNECT_TIMEOUT_S = 30.0
_CLOSE_TIMEOUT_S = 5.0
# High enough that a burst of bot messages between two syncs never makes a sync "limited".
_TIMELINE_LIMIT = 100

_log = logging.getLogger("tests.harness.human")


class _RecordingClient(Client):
    """Hands each raw /sync response to the Timeline once the client's own handlers have run.

    The raw copy is taken before mautrix parses the response (it trims reply fallbacks and rewrites
    content while deserializing); recording after the handlers means the state store already knows
    about a member by the time a test sees them join.
    """

    timeline: Timeline

    def handle_sync(self, data: dict[str, Any]) -> list[asyncio.Task[Any]]:
        raw = copy.deepcopy(data)
        handled = super().handle_sync(data)
        return [asyncio.create_task(self._record_after(handled, raw))]

    async def _record_after(self, handled: list[asyncio.Task[Any]], raw: dict[str, Any]) -> None:
        await asyncio.gather(*handled)
        self.timeline.record_sync(raw)


def _run_handlers_within_sync(client: Client) -> None:
    """Makes mautrix await every handler before the next sync, instead of leaving background tasks."""
    for handlers in (client.global_event_handlers, *client.event_handlers.values()):
        for handler, props in list(handlers.items()):
            handlers[handler] = EventHandlerProps(wait_sync=True, sync_stream=props.sync_stream)


class MatrixHuman:
    def __init__(
        self,
        account: MatrixAccount,
        client: _RecordingClient,
        session: aiohttp.ClientSession,
        encryption: Encryption | None,
        stores: CryptoStores | None,
    ) -> None:
        self.account = account
        self.client = client
        self.timeline = client.timeline
        self._session = session
        self._encryption = encryption
        self._stores = stores
        self._closed = False

    @classmethod
    async def connect(
        cls, base_url: str, account: MatrixAccount, *, store_dir: Path | None = None
    ) -> MatrixHuman:
        """Starts syncing as ``account``; with a ``store_dir`` the client does end-to-end encryption.

        Returns once the first sync has been recorded.
        """
        session = aiohttp.ClientSession()
        stores = None
        human: MatrixHuman | None = None
        try:
            if store_dir is not None:
                path = store_dir / f"{account.localpart}-{account.device_id}.db"
                stores = await CryptoStores.open(path, account.user_id)
            client = _RecordingClient(
                mxid=UserID(account.user_id),
                device_id=account.device_id,
                base_url=base_url,
                token=account.access_token,
                client_session=session,
                log=_log.getChild(account.localpart),
                state_store=stores.state_store if stores else None,
                sync_store=stores.crypto_store if stores else None,
            )
            client.timeline = Timeline(account.user_id)
            encryption = Encryption(client, stores) if stores else None
            human = cls(account, client, session, encryption, stores)
            await human._start()
        except BaseException:
            if human is not None:
                await human.close()
            else:
                if stores is not None:
                    await stores.close()
                await session.close()
            raise
        return human

    async def _start(self) -> None:
        if self._encryption is not None:
            self.timeline.decryptor = self._encryption.decrypt
            await self._encryption.start(self.account.device_id)
        self.client.add_event_handler(InternalEventType.SYNC_ERRORED, self._on_sync_errored)
        self.client.add_event_handler(InternalEventType.SYNC_STOPPED, self._on_sync_stopped)
        _run_handlers_within_sync(self.client)
        timeline_filter = Filter(room=RoomFilter(timeline=RoomEventFilter(limit=_TIMELINE_LIMIT)))
        self.client.start(timeline_filter)
        await self.timeline.wait_for_syncs(1, _CONNECT_TIMEOUT_S)

    async def _on_sync_errored(self, data: dict[str, Any]) -> None:
        self.timeline.last_sync_error = repr(data.get("error"))

    async def _on_sync_stopped(self, data: dict[str, Any]) -> None:
        if data.get("error") is not None:
            self.timeline.fail(data["error"])

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def can_encrypt(self) -> bool:
        return self._encryption is not None

    async def close(self) -> None:
        """Stops syncing and releases everything: no task, connection or file left behind."""
        if self._closed:
            return
        self._closed = True
        syncing = self.client.syncing_task
        self.client.stop()
        if syncing is not None:
            await asyncio.wait([syncing], timeout=_CLOSE_TIMEOUT_S)
        await self.timeline.close()
        # mautrix starts a few crypto tasks outside the handlers (device list fetches); they must end
        # before their database closes. The set is process-wide: only this loop's tasks can be awaited.
        loop = asyncio.get_running_loop()
        pending = [t for t in background_task._tasks if t.get_loop() is loop and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_TIMEOUT_S)
        try:
            if self._stores is not None:
                await asyncio.wait_for(self._stores.close(), _CLOSE_TIMEOUT_S)
        finally:
            await self._session.close()

    # -- rooms -----------------------------------------------------------------------------------

    async def create_room(
        self,
        *,
        invite: Sequence[str] = (),
        encrypted: bool = False,
        direct: bool = False,
        name: str | None = None,
    ) -> str:
        initial_state = []
        if encrypted:
            initial_state.append(
                {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
            )
        room_id = await self.client.create_room(
            name=name,
            is_direct=direct,
            preset=RoomCreatePreset.TRUSTED_PRIVATE if direct else RoomCreatePreset.PRIVATE,
            invitees=[UserID(user_id) for user_id in invite],
            initial_state=initial_state,
        )
        return str(room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.client.invite_user(RoomID(room_id), UserID(user_id))

    async def join(self, room_id: str) -> None:
        await self.client.join_room_by_id(RoomID(room_id))

    async def leave(self, room_id: str) -> None:
        await self.client.leave_room(RoomID(room_id))

    async def cross_sign(self) -> str:
        """Creates the user's cross-signing keys, signs this device with them; returns the recovery key."""
        if self._encryption is None:
            raise RuntimeError(f"{self.user_id} has no encryption: nothing to cross-sign")
        return await self.client.crypto.generate_recovery_key()

    async def set_typing(self, room_id: str, typing: bool = True, timeout_ms: int = 30_000) -> None:
        await self.client.set_typing(RoomID(room_id), timeout=timeout_ms if typing else 0)

    # -- sending ---------------------------------------------------------------------------------

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Sends ``content`` as is (encrypted in an encrypted room if this client can encrypt)."""
        event_id = await self.client.send_message_event(RoomID(room_id), EventType.find(event_type), content)
        return str(event_id)

    async def send_text(
        self,
        room_id: str,
        body: str,
        *,
        mentions: Sequence[str] | None = None,
        reply_to: str | None = None,
    ) -> str:
        content = text_content(body, mentions=mentions, relates_to=reply_relation(reply_to))
        return await self.send_event(room_id, "m.room.message", content)

    async def send_formatted(
        self,
        room_id: str,
        body: str,
        formatted_body: str,
        *,
        mentions: Sequence[str] | None = None,
        reply_to: str | None = None,
    ) -> str:
        relates_to = reply_relation(reply_to)
        content = text_content(body, formatted_body=formatted_body, mentions=mentions, relates_to=relates_to)
        return await self.send_event(room_id, "m.room.message", content)

    async def send_thread_reply(
        self,
        room_id: str,
        thread_root: str,
        body: str,
        *,
        formatted_body: str | None = None,
        mentions: Sequence[str] | None = None,
        reply_to: str | None = None,
    ) -> str:
        """A message in ``thread_root``'s thread; ``reply_to`` makes it a real reply within the thread."""
        relates_to = thread_relation(thread_root, reply_to)
        content = text_content(body, formatted_body=formatted_body, mentions=mentions, relates_to=relates_to)
        return await self.send_event(room_id, "m.room.message", content)

    async def send_edit(self, room_id: str, event_id: str, new_body: str) -> str:
        return await self.send_event(room_id, "m.room.message", edit_content(event_id, new_body))

    async def send_reaction(self, room_id: str, event_id: str, key: str) -> str:
        return await self.send_event(room_id, "m.reaction", reaction_content(event_id, key))

    async def send_file(
        self, room_id: str, data: bytes, filename: str, mimetype: str = "application/octet-stream"
    ) -> str:
        content = media_content("m.file", filename, mimetype, len(data))
        return await self._send_media(room_id, content, data)

    async def send_image(
        self,
        room_id: str,
        data: bytes,
        filename: str,
        mimetype: str = "image/png",
        *,
        width: int | None = None,
        height: int | None = None,
    ) -> str:
        content = media_content("m.image", filename, mimetype, len(data), width=width, height=height)
        return await self._send_media(room_id, content, data)

    async def _send_media(self, room_id: str, content: dict[str, Any], data: bytes) -> str:
        """Uploads ``data`` (as an encrypted attachment in an encrypted room) and sends ``content``."""
        filename = content["body"]
        if self._encryption is not None and await self._encryption.is_encrypted(room_id):
            ciphertext, encrypted_file = encrypt_attachment(data)
            encrypted_file.url = await self.client.upload_media(
                ciphertext, mime_type="application/octet-stream", filename=filename
            )
            content["file"] = encrypted_file.serialize()
        else:
            mimetype = content["info"]["mimetype"]
            content["url"] = str(await self.client.upload_media(data, mime_type=mimetype, filename=filename))
        return await self.send_event(room_id, "m.room.message", content)

    async def download(self, content: dict[str, Any]) -> bytes:
        """The bytes of a media message's content, decrypting an encrypted attachment."""
        encrypted_file = content.get("file")
        if encrypted_file is None:
            return await self.client.download_media(ContentURI(content["url"]))
        ciphertext = await self.client.download_media(ContentURI(encrypted_file["url"]))
        return decrypt_attachment(
            ciphertext, encrypted_file["key"]["k"], encrypted_file["hashes"]["sha256"], encrypted_file["iv"]
        )

    # -- receiving -------------------------------------------------------------------------------

    def events(self, room_id: str) -> list[ReceivedEvent]:
        return self.timeline.events(room_id)

    async def wait_for_event(
        self,
        room_id: str,
        predicate: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        after: str | None = None,
        event_type: str | None = None,
    ) -> ReceivedEvent:
        """The first event in the room (after the event ``after``, if given) matching the filters."""

        def matches(event: ReceivedEvent) -> bool:
            return (event_type is None or event.type == event_type) and (
                predicate is None or predicate(event)
            )

        what = f"{event_type or 'event'} matching the test's condition"
        return await self.timeline.wait_for(room_id, matches, timeout, after=after, what=what)

    async def wait_for_message(
        self,
        room_id: str,
        predicate: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        after: str | None = None,
        sender: str | None = None,
        include_own: bool = False,
    ) -> ReceivedEvent:
        """The first new m.room.message (edits excluded, this user's own excluded unless asked)."""

        def matches(event: ReceivedEvent) -> bool:
            return (
                event.relates_to.get("rel_type") != "m.replace"
                and (include_own or event.sender != self.user_id)
                and (sender is None or event.sender == sender)
                and (predicate is None or predicate(event))
            )

        return await self.wait_for_event(room_id, matches, timeout, after=after, event_type="m.room.message")

    async def wait_for_edit(
        self,
        room_id: str,
        event_id: str,
        predicate: Predicate | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        after: str | None = None,
    ) -> ReceivedEvent:
        """The first m.replace of ``event_id`` matching ``predicate``; ``m.new_content`` holds the text."""

        def matches(event: ReceivedEvent) -> bool:
            relation = event.relates_to
            return (
                relation.get("rel_type") == "m.replace"
                and relation.get("event_id") == event_id
                and (predicate is None or predicate(event))
            )

        return await self.wait_for_event(room_id, matches, timeout, after=after, event_type="m.room.message")

    async def wait_for_membership(
        self, room_id: str, user_id: str, membership: str = "join", timeout: float = DEFAULT_TIMEOUT_S
    ) -> ReceivedEvent:
        def matches(event: ReceivedEvent) -> bool:
            return event.state_key == user_id and event.content.get("membership") == membership

        return await self.wait_for_event(room_id, matches, timeout, event_type="m.room.member")

    async def wait_for_typing(
        self, room_id: str, user_id: str, typing: bool = True, timeout: float = DEFAULT_TIMEOUT_S
    ) -> ReceivedEvent:
        def matches(event: ReceivedEvent) -> bool:
            return (user_id in event.content.get("user_ids", [])) == typing

        return await self.wait_for_event(room_id, matches, timeout, event_type="m.typing")

    async def wait_for_invite(
        self, predicate: Predicate | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> ReceivedEvent:
        """This user's invite member event; ``.room_id`` is the room, ``.sender`` who invited."""
        return await self.timeline.wait_for_invite(predicate or (lambda _invite: True), timeout)


class MatrixHumans:
    """Creates humans for one test and closes them all at its end (the ``matrix_humans`` fixture)."""

    def __init__(self, store_dir: Path) -> None:
        self._store_dir = store_dir
        self._humans: list[MatrixHuman] = []

    async def new(
        self,
        server: SynapseServer,
        *,
        encryption: bool = False,
        prefix: str = "human",
        cross_signed: bool = True,
    ) -> MatrixHuman:
        """A freshly registered user on ``server``, syncing. With encryption, the user sets up cross-signing
        and signs this device with it, as Element does at first login (``cross_signed=False``: a bare device
        that nobody vouches for)."""
        human = await self.connect(server, await server.register(prefix=prefix), encryption=encryption)
        if encryption and cross_signed:
            await human.cross_sign()
        return human

    async def connect(
        self, server: SynapseServer, account: MatrixAccount, *, encryption: bool = False
    ) -> MatrixHuman:
        """A client for an existing account (each encrypting client needs its own device)."""
        store_dir = self._store_dir if encryption else None
        human = await MatrixHuman.connect(server.base_url, account, store_dir=store_dir)
        self._humans.append(human)
        return human

    async def close(self) -> None:
        """Closes every human, even when closing one of them fails (the first failure is raised)."""
        humans, self._humans = self._humans, []
        results = [await _closed(human) for human in humans]
        failures = [result for result in results if result is not None]
        if failures:
            raise failures[0]


async def _closed(human: MatrixHuman) -> Exception | None:
    try:
        await human.close()
    except Exception as error:
        return error
    return None
