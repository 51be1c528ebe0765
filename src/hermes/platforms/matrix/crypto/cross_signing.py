"""Cross-signing with the account's recovery key (MATRIX_RECOVERY_KEY): the bot imports the account's
cross-signing keys from secret storage and signs its own device, so Element shows it as verified.

Idempotent: a device the account's self-signing key has already signed is left alone. A recovery key that
does not fit is logged and otherwise ignored: encryption works without cross-signing.
"""

from __future__ import annotations

import logging

from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.crypto.signature import verify_signature_json
from mautrix.errors import MNotFound
from mautrix.types import DeviceID, QueryKeysResponse, SigningKey, UserID

log = logging.getLogger(__name__)

# The exact words the user documentation tells operators to look for.
VERIFIED = "Matrix: cross-signing verified via recovery key"


def self_signing_key(answer: QueryKeysResponse, user_id: str) -> str | None:
    keys = answer.self_signing_keys.get(UserID(user_id))
    return keys.first_ed25519_key if keys is not None else None


def device_signed(answer: QueryKeysResponse, user_id: str, device_id: str) -> bool:
    """Whether the account's published self-signing key has validly signed the device's keys."""
    ssk = self_signing_key(answer, user_id)
    device = (answer.device_keys.get(UserID(user_id)) or {}).get(DeviceID(device_id))
    if ssk is None or device is None:
        return False
    return verify_signature_json(device.serialize(), UserID(user_id), ssk, SigningKey(ssk))


def describe(answer: QueryKeysResponse, user_id: str, device_id: str) -> str:
    if UserID(user_id) not in answer.master_keys:
        return "the account has no cross-signing keys"
    if device_signed(answer, user_id, device_id):
        return "device signed by the account's self-signing key (verified)"
    return "device not signed (set MATRIX_RECOVERY_KEY to have the bot sign it at start)"


async def sign_own_device(
    client: Client, machine: OlmMachine, recovery_key: str, answer: QueryKeysResponse
) -> bool:
    """True when the device is signed by the account's cross-signing key after this call."""
    user_id, device_id = str(client.mxid), str(client.device_id)
    try:
        key_id, key_data = await machine.ssss.get_default_key_data()
        key_data.verify_recovery_key(key_id, recovery_key)
    except (ValueError, MNotFound) as exc:
        log.error(
            "matrix: MATRIX_RECOVERY_KEY was not used (%s): check that it is the account's current "
            "recovery key (Element: Settings > Security & Privacy > Encryption); the device stays "
            "unverified",
            _reason(exc),
        )
        return False
    if device_signed(answer, user_id, device_id):
        log.info("%s (device %s was already signed)", VERIFIED, device_id)
        return True
    try:
        await machine.verify_with_recovery_key(recovery_key)
    except (ValueError, MNotFound) as exc:
        log.error(
            "matrix: the cross-signing keys in secret storage cannot be used (%s); device %s stays "
            "unverified",
            _reason(exc),
            device_id,
        )
        return False
    log.info("%s (device %s signed)", VERIFIED, device_id)
    return True


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MNotFound):
        return "the account has no secret storage"
    if str(exc) == "No default key ID set":
        return "the account has no secret storage key"
    return str(exc)
