"""Attachments in (downloaded, size-capped, into the media cache) and out (multipart `payload_json` +
`files[n]`, at most ten per message)."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from hermes.fileio import reuse_cached, write_atomic
from hermes.platforms.base import Attachment
from hermes.platforms.discord.rest import RestClient

log = logging.getLogger(__name__)

MAX_FILES_PER_MESSAGE = 10


def describe(attachment: Attachment) -> str:
    a = attachment
    return f"[{a.filename} ({a.mime_type}, {a.size} bytes) saved at {a.path}]"


def _safe_name(name: str, fallback: str) -> str:
    name = posixpath.basename(name.replace("\\", "/")).strip()[:120]
    return name if name not in ("", ".", "..") else fallback


class FileFetcher:
    def __init__(self, rest: RestClient, cache_dir: Path, max_bytes: int) -> None:
        self.rest = rest
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes

    async def fetch(self, message: dict[str, Any]) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
        """The message's attachments, and a note for each one left out."""
        got: list[Attachment] = []
        notes: list[str] = []
        for item in message.get("attachments") or ():
            if not isinstance(item, dict) or not item.get("url") or not item.get("id"):
                continue
            name = _safe_name(str(item.get("filename") or ""), str(item["id"]))
            mime = (
                str(item.get("content_type") or "")
                or mimetypes.guess_type(name)[0]
                or "application/octet-stream"
            )
            size = item.get("size")
            if isinstance(size, int) and size > self.max_bytes:
                notes.append(f"[{name} is too large ({size} bytes): the limit is {self.max_bytes} bytes]")
                continue
            path = self.cache_dir / (str(item["id"]) + Path(name).suffix[:16])
            cached = await asyncio.to_thread(reuse_cached, path)
            if cached is None:
                try:
                    data = await self.rest.download(str(item["url"]), self.max_bytes)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("discord: could not download %s: %s", name, exc)
                    notes.append(f"[{name} could not be received]")
                    continue
                if data is None:
                    notes.append(f"[{name} is too large: the limit is {self.max_bytes} bytes]")
                    continue
                await asyncio.to_thread(write_atomic, path, data, durable=False)
                cached = len(data)
            got.append(Attachment(filename=name, mime_type=mime, path=str(path), size=cached))
        return tuple(got), tuple(notes)


async def read_files(attachments: Sequence[Attachment]) -> tuple[list[tuple[Attachment, bytes]], list[str]]:
    read: list[tuple[Attachment, bytes]] = []
    notes: list[str] = []
    for attachment in attachments:
        try:
            read.append((attachment, await asyncio.to_thread(Path(attachment.path).read_bytes)))
        except OSError as exc:
            log.warning("discord: cannot read %s: %s", attachment.path, exc)
            notes.append(f"[{attachment.filename} could not be attached: the file could not be read]")
    return read, notes


def multipart(payload: dict[str, Any], files: Sequence[tuple[Attachment, bytes]]) -> aiohttp.FormData:
    payload = {
        **payload,
        "attachments": [{"id": i, "filename": a.filename} for i, (a, _) in enumerate(files)],
    }
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    for index, (attachment, data) in enumerate(files):
        form.add_field(
            f"files[{index}]", data, filename=attachment.filename, content_type=attachment.mime_type
        )
    return form
