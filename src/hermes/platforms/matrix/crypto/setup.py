"""Starting end-to-end encryption for the platform, by mode.

- off: nothing here runs.
- optional: when encryption cannot run (python-olm missing, the store refused, the identity check
  failed), one log line says why and how to recover, and the bot goes on without it: unencrypted rooms
  work, encrypted rooms get nothing.
- required: the same causes make the platform refuse to start (`E2EERequired`).

Network failures are neither: they propagate, and the gateway retries the start with backoff.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, cast

from hermes.platforms.matrix.crypto.errors import CryptoRefused, E2EERequired
from hermes.platforms.matrix.crypto.location import StoreLocation

if TYPE_CHECKING:
    from mautrix.util.logging import TraceLogger

    from hermes.platforms.matrix.crypto.engine import E2EE
    from hermes.platforms.matrix.http import MatrixHTTP
    from hermes.platforms.matrix.options import MatrixOptions
    from hermes.platforms.matrix.session import Credentials

log = logging.getLogger("hermes.platforms.matrix.crypto")


class _CrossSigningNoise(logging.Filter):
    """mautrix warns about every device or user without cross-signing it meets: noise for a bot."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "isn't cross-signed" not in message and "Didn't find cross-signing key" not in message


# Importing mautrix made its TraceLogger the class of every logger created afterwards.
_olm_log = cast("TraceLogger", logging.getLogger("hermes.platforms.matrix.crypto.olm"))
_olm_log.addFilter(_CrossSigningNoise())


def olm_problem() -> str | None:
    """Why python-olm (and with it mautrix's crypto) cannot be loaded here, or None when it can."""
    try:
        importlib.import_module("olm")
        importlib.import_module("mautrix.crypto")
    except (ImportError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


async def start_e2ee(http: MatrixHTTP, credentials: Credentials, options: MatrixOptions) -> E2EE | None:
    """Encryption ready to use, or None (mode off, or optional and it cannot run)."""
    mode = options.e2ee_mode
    if mode == "off":
        return None
    try:
        e2ee = await _start(http, credentials, options)
    except CryptoRefused as exc:
        if mode == "required":
            log.error("matrix: MATRIX_E2EE_MODE=required, so Matrix does not start: %s", exc)
            raise E2EERequired(f"end-to-end encryption cannot start: {exc}") from None
        log.error(
            "matrix: end-to-end encryption is off: %s. Unencrypted rooms keep working; encrypted rooms "
            "get no answer until this is fixed",
            exc,
        )
        return None
    log.info("matrix: end-to-end encryption on (device %s, ed25519 key %s)", e2ee.device_id, e2ee.signing_key)
    return e2ee


async def _start(http: MatrixHTTP, credentials: Credentials, options: MatrixOptions) -> E2EE:
    problem = olm_problem()
    if problem is not None:
        raise CryptoRefused(
            f"python-olm cannot be loaded ({problem}): install it with pip install 'mautrix[encryption]'"
        )
    if not credentials.device_id:
        raise CryptoRefused(
            "the homeserver did not say which device the access token belongs to, and encryption keys "
            "belong to a device: set MATRIX_DEVICE_ID, or log in with MATRIX_USER_ID and MATRIX_PASSWORD"
        )
    from mautrix.client import Client
    from mautrix.crypto import OlmMachine
    from mautrix.types import DeviceID, UserID

    from hermes.platforms.matrix.crypto.cross_signing import sign_own_device
    from hermes.platforms.matrix.crypto.engine import E2EE
    from hermes.platforms.matrix.crypto.identity import establish_identity
    from hermes.platforms.matrix.crypto.store import open_stores

    location = StoreLocation.of(options)
    stores = await open_stores(location, credentials.user_id, credentials.device_id)
    try:
        client = Client(
            mxid=UserID(credentials.user_id),
            device_id=DeviceID(credentials.device_id),
            api=http,
            state_store=stores.state_store,
        )
        machine = OlmMachine(client, stores.crypto_store, stores.state_store, log=_olm_log)
        client.crypto = machine
        try:
            answer = await establish_identity(client, machine, location)
        except Exception as exc:
            if type(exc).__module__.startswith("olm"):
                raise CryptoRefused(
                    f"the Olm account of the crypto store {location.where} cannot be opened with "
                    f"{location.secret_where} ({exc}): restore the secret that belongs to this store, "
                    "or run `hermes matrix reset-crypto` and give the bot a new device"
                ) from None
            raise
        if options.recovery_key:
            await sign_own_device(client, machine, options.recovery_key, answer)
        return E2EE(client, machine, stores, require_trusted=options.e2ee_mode == "required")
    except BaseException:
        await stores.close()
        raise
