"""The start-up check of the bot's encryption identity against what the homeserver publishes for its device.

A device's keys are fixed once published. If the local store was wiped or replaced while the device id
stayed the same, the server still holds the old identity's device keys and one-time keys: peers would
encrypt to keys the bot no longer has. That is refused with the exact way out, and nothing is uploaded
(a fresh account is created only once the server is known to hold nothing for the device).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.errors import MatrixRequestError
from mautrix.types import DeviceKeys, QueryKeysResponse, UserID

from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import StoreLocation

log = logging.getLogger(__name__)


def recovery_steps(user_id: str, device_id: str, clear: str) -> str:
    """`clear` is the step that empties the crypto store, such as "delete <its file>"."""
    admin_path = f"/_synapse/admin/v2/users/{quote(user_id, safe='')}/devices/{device_id}"
    return (
        "To recover, either (1) give the bot a new device: create a new access token (log in again; with "
        "MATRIX_PASSWORD, unset MATRIX_DEVICE_ID and delete platforms/matrix/session.json) and restart; "
        f"or (2) keep device {device_id}: delete it on the homeserver (Element: Settings > Sessions, or "
        f"the Synapse admin API: DELETE {admin_path}), {clear}, and restart"
    )


def stale_keys(user_id: str, device_id: str, clear: str, detail: str) -> CryptoRefused:
    return CryptoRefused(
        f"device {device_id} has stale one-time keys on the server signed with a previous identity key "
        f"({detail}). {recovery_steps(user_id, device_id, clear)}"
    )


async def own_device_keys(client: Client) -> tuple[QueryKeysResponse, DeviceKeys | None]:
    """The homeserver's answer for the bot's own user, and the published keys of its device."""
    answer = await client.query_keys([client.mxid])
    devices = answer.device_keys.get(UserID(client.mxid)) or {}
    published = devices.get(client.device_id)
    if published is not None and not published.keys:
        published = None
    return answer, published


async def establish_identity(
    client: Client, machine: OlmMachine, location: StoreLocation
) -> QueryKeysResponse:
    """Loads (or creates) the Olm account, checks it against the server and publishes its keys.

    Returns the server's key answer for the bot's user (cross-signing reuses it).
    """
    user_id, device_id = str(client.mxid), str(client.device_id)
    clear = location.clearing
    existing = await machine.crypto_store.get_account()
    answer, published = await own_device_keys(client)
    if existing is None and published is not None:
        raise stale_keys(user_id, device_id, clear, location.no_account)
    await machine.load()
    account = machine.account
    assert account is not None
    if published is not None:
        if published.ed25519 != account.signing_key or published.curve25519 != account.identity_key:
            raise stale_keys(
                user_id,
                device_id,
                clear,
                f"the server has ed25519 key {published.ed25519}, the local store {account.signing_key}",
            )
    elif account.shared:
        log.warning("matrix: the server lost the keys of device %s; publishing them again", device_id)
        account.shared = False
    try:
        await machine.share_keys()
    except MatrixRequestError as exc:
        if exc.http_status == 400 and "already exists" in (exc.message or ""):
            raise stale_keys(user_id, device_id, clear, f"upload refused: {exc.message}") from None
        raise
    return answer
