"""What can go wrong with end-to-end encryption, as exceptions the rest of the adapter can catch without
loading python-olm."""

from __future__ import annotations

from hermes.platforms.base import StartRefused


class CryptoRefused(Exception):
    """Encryption cannot run with this installation, store or device; the message says how to recover.

    Retrying cannot help: the operator has to act (install python-olm, use the right device, reset the
    store). Network failures are never this: they are retried.
    """


class E2EERequired(StartRefused):
    """MATRIX_E2EE_MODE=required and encryption cannot run, so the Matrix platform refuses to start.

    A `StartRefused`, so the gateway stops the platform until restart instead of retrying every few
    seconds: like a revoked token, the cause is something only the operator can change.
    """


class RoomKeyMissing(Exception):
    """The room key (Megolm session) of an encrypted event has not arrived (yet)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no room key for session {session_id}")
        self.session_id = session_id


class Undecryptable(Exception):
    """An encrypted event that cannot be read; the message says why, for the log."""


class UntrustedDevice(Undecryptable):
    """MATRIX_E2EE_MODE=required, and the event was sent from a device that is neither verified nor
    cross-signed by its owner: a homeserver can add such devices to any of its users, so it is not read."""
