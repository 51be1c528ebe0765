"""Files in and out: inbound media downloaded through the authenticated media API (size-capped, cached
under HERMES_HOME; encrypted attachments decrypted after their hash is checked), outbound attachments
described as Matrix media events.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
from pathlib import Path
from typing import Any

import aiohttp

from hermes.fileio import reuse_cached, write_atomic
from hermes.platforms.base import Attachment
from hermes.platforms.matrix.http import MatrixHTTP

MEDIA_MSGTYPES = {"m.image", "m.audio", "m.video", "m.file"}
VOICE_FLAG = "org.matrix.msc3245.voice"
_CHUNK = 64 * 1024
_MXC = re.compile(r"^mxc://[A-Za-z0-9.\-:\[\]]+/[A-Za-z0-9_\-]+$")


class MediaError(Exception):
    """An attachment that could not be fetched; the message says why, for the person who sent it."""


def is_voice(content: dict[str, Any]) -> bool:
    return content.get("msgtype") == "m.audio" and VOICE_FLAG in content


def _filename(content: dict[str, Any], mime: str) -> str:
    name = content.get("filename") or content.get("body") or ""
    name = os.path.basename(str(name).replace("\\", "/")).strip()[:120]
    if not name or name in (".", ".."):
        name = "attachment" + (mimetypes.guess_extension(mime) or "")
    return name


def caption(content: dict[str, Any]) -> str:
    """A media message's text: its body when a separate `filename` makes the body a caption."""
    body = content.get("body")
    filename = content.get("filename")
    if isinstance(body, str) and isinstance(filename, str) and body != filename:
        return body
    return ""


class MediaFetcher:
    def __init__(self, http: MatrixHTTP, cache_dir: Path, max_bytes: int) -> None:
        self.http = http
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes

    async def fetch(self, content: dict[str, Any]) -> Attachment:
        info = found if isinstance(found := content.get("info"), dict) else {}
        mime = str(info.get("mimetype") or "application/octet-stream")
        name = _filename(content, mime)
        encrypted = content.get("file") if isinstance(content.get("file"), dict) else None
        url = encrypted.get("url") if encrypted is not None else content.get("url")
        if not isinstance(url, str):
            raise MediaError(f"{name} has no file to download")
        if not _MXC.match(url):
            raise MediaError(f"{name} has an invalid media URL")
        declared = info.get("size")
        if isinstance(declared, int) and declared > self.max_bytes:
            raise MediaError(self._too_large(name, declared))
        suffix = Path(name).suffix[:16] or mimetypes.guess_extension(mime) or ""
        path = self.cache_dir / (_cache_key(url, encrypted) + suffix)
        size = await asyncio.to_thread(reuse_cached, path)
        if size is not None and encrypted is not None and not await _still_matches(path, encrypted):
            size = None
        if size is None:
            data = await self._download(url, name)
            if encrypted is not None:
                data = await _decrypted(data, encrypted, name)
            await asyncio.to_thread(write_atomic, path, data, durable=False)
            size = len(data)
        return Attachment(
            filename=name, mime_type=mime, path=str(path), size=size, is_voice=is_voice(content)
        )

    async def _download(self, mxc: str, name: str) -> bytes:
        """The file's bytes; every failure is a MediaError, so a broken file never holds up the sync."""
        url = self.http.get_download_url(mxc, authenticated=True)
        headers = {"Authorization": f"Bearer {self.http.token}"}
        data = bytearray()
        try:
            async with self.http.session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise MediaError(f"{name} could not be downloaded (HTTP {response.status})")
                async for chunk in response.content.iter_chunked(_CHUNK):
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise MediaError(self._too_large(name, None))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaError(f"{name} could not be downloaded ({type(exc).__name__})") from exc
        return bytes(data)

    def _too_large(self, name: str, size: int | None) -> str:
        actual = f" ({_size(size)})" if size is not None else ""
        return f"{name} is too large{actual}: the limit is {_size(self.max_bytes)}"


def _cache_key(url: str, encrypted: dict[str, Any] | None) -> str:
    """An encrypted file's plaintext is found only under the URL together with its hash, key and iv: an
    event that names the same URL with another key, or none, does not get it."""
    parts = [url]
    if encrypted is not None:
        key = found if isinstance(found := encrypted.get("key"), dict) else {}
        hashes = found if isinstance(found := encrypted.get("hashes"), dict) else {}
        parts += [str(hashes.get("sha256")), str(key.get("k")), str(encrypted.get("iv"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


async def _still_matches(path: Path, encrypted: dict[str, Any]) -> bool:
    """A cache hit for an encrypted file is checked against the event's hash every time."""
    try:
        from hermes.platforms.matrix.crypto.attachments import describes

        data = await asyncio.to_thread(path.read_bytes)
    except (ImportError, OSError):
        return False
    return await asyncio.to_thread(describes, data, encrypted)


async def _decrypted(ciphertext: bytes, file: dict[str, Any], name: str) -> bytes:
    """An encrypted attachment's plaintext, its SHA-256 checked first."""
    try:
        from hermes.platforms.matrix.crypto.attachments import BadAttachment, decrypt_file
    except ImportError:
        raise MediaError(f"{name} is end-to-end encrypted, and python-olm is not installed") from None
    try:
        return await asyncio.to_thread(decrypt_file, ciphertext, file)
    except BadAttachment as exc:
        raise MediaError(f"{name} could not be decrypted: {exc}") from None


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def describe(attachment: Attachment) -> str:
    """How a non-image attachment appears in the text the agent reads."""
    a = attachment
    return f"[{a.filename} ({a.mime_type}, {a.size} bytes) saved at {a.path}]"


def outbound_content(attachment: Attachment, location: dict[str, Any]) -> dict[str, Any]:
    """A media event for an uploaded file; audio from the agent is a voice message (MSC3245).

    `location` is what `Sender.upload` returned: `{"url": mxc}`, or `{"file": {...}}` when encrypted.
    """
    kind = attachment.mime_type.split("/", 1)[0]
    msgtype = {"image": "m.image", "audio": "m.audio", "video": "m.video"}.get(kind, "m.file")
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": attachment.filename,
        "filename": attachment.filename,
        **location,
        "info": {"mimetype": attachment.mime_type, "size": attachment.size},
    }
    if msgtype == "m.audio":
        content[VOICE_FLAG] = {}
        content["org.matrix.msc1767.audio"] = {}
    return content
