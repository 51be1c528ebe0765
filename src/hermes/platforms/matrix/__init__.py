"""The Matrix platform, registered as "matrix" (see `platform.MatrixPlatform`).

How a message travels, module by module:

    sync.py      /sync long-poll, backoff, the cursor handed to the hub with the batch's last event
    batch.py     one /sync answer: m.direct, invites (invites.py), members (rooms.py), gap filling, history
    inbound.py   one room event -> Inbound: ignore rules, addressing.py's verdict, media.py, voice.py
    sender.py    every room event and every upload the bot sends (render.py makes the content)
    signals.py   typing notifications and read receipts (not room events)
    session.py   access token or password login; http.py the connection (mautrix's HTTPAPI)

End-to-end encryption (MATRIX_E2EE_MODE off | optional | required):

    crypto/setup.py           start by mode: python-olm, the store, the identity check, cross-signing
    crypto/location.py        where the store lives: HERMES_HOME files, or the PostgreSQL store (replicas)
    crypto/store_files.py     crypto.db, the secret behind its pickle key, the lock, backup (no olm needed)
    crypto/store_pg.py        the store in schema matrix_crypto, its secret in one row, reset by renaming
    crypto/store_import.py    a single-host store moved into PostgreSQL at the first start there
    crypto/store.py           mautrix's stores opened, refused when they belong to another account or device
    crypto/identity.py        local identity keys against the server's; stale keys refused with the way out
    crypto/cross_signing.py   MATRIX_RECOVERY_KEY: sign the bot's device from secret storage, once
    crypto/engine.py          the OlmMachine fed from our /sync; decrypt and encrypt
    crypto/attachments.py     encrypted files (`file` key), hash checked
    crypto/status.py          what `hermes matrix status` shows
    room_encryption.py        which rooms are encrypted; refusals when the bot cannot encrypt
    late_events.py            events read after their batch (late room keys), the cursor held back
    undecryptable.py          a log line and an hourly notice for messages that cannot be decrypted

Nothing leaves except through `Sender.send_event`, `Sender.upload` and `Sender.redact`, which encrypt in
an encrypted room or refuse (`PlaintextRefused`).
"""

from hermes.platforms.matrix.platform import MatrixPlatform

__all__ = ["MatrixPlatform"]
