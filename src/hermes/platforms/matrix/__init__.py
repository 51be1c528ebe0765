"""The Matrix platform, registered as "matrix" (see `platform.MatrixPlatform`).

How a message travels, module by module:

    sync.py      /sync long-poll, backoff, the cursor handed to the hub with the batch's last event
    batch.py     one /sync answer: m.direct, invites (invites.py), members (rooms.py), gap filling, history
    inbound.py   one room event -> Inbound: ignore rules, addressing.py's verdict, media.py, voice.py
    sender.py    every room event and every upload the bot sends (render.py makes the content)
    signals.py   typing notifications and read receipts (not room events)
    session.py   access token or password login; http.py the connection (mautrix's HTTPAPI)

For end-to-end encryption the seams are: `Sender.send_event` and `Sender.upload` (the only ways out: encrypt
or refuse there), `BatchReader.read` (to-device events, device lists and decryption before events are
read), `MediaFetcher.fetch` (encrypted attachments, the `file` key), and `MatrixHTTP`, which can back a
mautrix `Client(api=...)` for the OlmMachine.
"""

from hermes.platforms.matrix.platform import MatrixPlatform

__all__ = ["MatrixPlatform"]
