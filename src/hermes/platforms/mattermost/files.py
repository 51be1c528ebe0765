"""Files in and out: a post's attachments downloaded (size-capped) into the media cache, and the agent's
attachments uploaded with `POST /files` and attached to its post.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermes.fileio import reuse_cached, write_atomic
from hermes.platforms.base import Attachment
from hermes.platforms.mattermost.rest import FileTooLarge, MattermostError, RestClient

log = logging.getLogger(__name__)

# model.PostFileidsMaxRunes (300) measured on the JSON array of 26-character ids: ten fit, eleven do not.
MAX_FILES_PER_POST = 10


@dataclass(frozen=True)
class Received:
    """What a post's files gave: the ones downloaded, and a line for each one that was not."""

    attachments: tuple[Attachment, ...]
    notes: tuple[str, ...]


def describe(attachment: Attachment) -> str:
    """How a non-image attachment appears in the text the agent reads."""
    a = attachment
    return f"[{a.filename} ({a.mime_type}, {a.size} bytes) saved at {a.path}]"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def _safe_name(name: str, file_id: str) -> str:
    name = posixpath.basename(name.replace("\\", "/")).strip()[:120]
    return name if name not in ("", ".", "..") else file_id


class FileFetcher:
    def __init__(self, rest: RestClient, cache_dir: Path, max_bytes: int) -> None:
        self.rest = rest
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes

    async def fetch(self, post: dict[str, Any]) -> Received:
        file_ids = [f for f in post.get("file_ids") or () if isinstance(f, str)]
        if not file_ids:
            return Received((), ())
        metadata = found if isinstance(found := post.get("metadata"), dict) else {}
        known = {info.get("id"): info for info in metadata.get("files") or () if isinstance(info, dict)}
        attachments: list[Attachment] = []
        notes: list[str] = []
        for file_id in file_ids:
            try:
                info = known.get(file_id) or await self.rest.file_info(file_id)
                attachments.append(await self._fetch_one(file_id, info))
            except _NotReceived as exc:
                notes.append(f"[{exc}]")
            except MattermostError as exc:
                log.warning("mattermost: could not read file %s: %s", file_id, exc)
                notes.append(f"[an attachment could not be received: HTTP {exc.status}]")
        return Received(tuple(attachments), tuple(notes))

    async def _fetch_one(self, file_id: str, info: dict[str, Any]) -> Attachment:
        name = _safe_name(str(info.get("name") or ""), file_id)
        mime = str(info.get("mime_type") or "") or mimetypes.guess_type(name)[0] or "application/octet-stream"
        declared = info.get("size")
        if isinstance(declared, int) and declared > self.max_bytes:
            limit = _size(self.max_bytes)
            raise _NotReceived(f"{name} is too large ({_size(declared)}): the limit is {limit}")
        path = self.cache_dir / (file_id + Path(name).suffix[:16])
        size = await asyncio.to_thread(reuse_cached, path)
        if size is None:
            try:
                data = await self.rest.file(file_id, self.max_bytes)
            except FileTooLarge:
                raise _NotReceived(f"{name} is too large: the limit is {_size(self.max_bytes)}") from None
            await asyncio.to_thread(write_atomic, path, data, durable=False)
            size = len(data)
        return Attachment(filename=name, mime_type=mime, path=str(path), size=size)


class _NotReceived(Exception):
    """A file left out, with the reason the agent (and so the person) is told."""


class FileUploader:
    def __init__(self, rest: RestClient) -> None:
        self.rest = rest

    async def upload(self, channel_id: str, attachments: Sequence[Attachment]) -> tuple[list[str], list[str]]:
        """(file ids, a note for each attachment that could not be uploaded)."""
        ids: list[str] = []
        notes: list[str] = []
        for attachment in attachments:
            try:
                data = await asyncio.to_thread(Path(attachment.path).read_bytes)
                info = await self.rest.upload(channel_id, attachment.filename, data, attachment.mime_type)
            except (OSError, MattermostError) as exc:
                log.warning("mattermost: could not upload %s: %s", attachment.filename, exc)
                notes.append(f"[{attachment.filename} could not be attached: {_reason(exc)}]")
                continue
            ids.append(str(info["id"]))
        return ids, notes


def _reason(exc: Exception) -> str:
    if isinstance(exc, MattermostError):
        return "the server refused it" + (" (too large)" if exc.status == 413 else f" (HTTP {exc.status})")
    return "the file could not be read"


def batches(file_ids: list[str]) -> list[list[str]]:
    return [file_ids[i : i + MAX_FILES_PER_POST] for i in range(0, len(file_ids), MAX_FILES_PER_POST)]
