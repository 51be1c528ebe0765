"""Uploaded files: FileInfo as `model.GetInfoForBytes` fills it, and who may read them (api4/file.go)."""

from __future__ import annotations

import mimetypes
import posixpath
import struct

from .errors import AppError, forbidden
from .ids import new_id
from .model import FileInfo, User
from .state import Directory

# Only the built-in table, so the answer does not depend on the machine's /etc/mime.types.
_MIME = mimetypes.MimeTypes()


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


class FileStore:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.files: dict[str, FileInfo] = {}

    def upload(self, uploader: User, channel_id: str, name: str, data: bytes) -> FileInfo:
        """`UploadFileX`, after the upload_file permission check every upload path makes."""
        channel = self.directory.channels.get(channel_id)
        if channel is None or not self.directory.is_member(uploader.id, channel):
            raise forbidden()
        name = posixpath.basename(name.replace("\\", "/"))
        extension = posixpath.splitext(name)[1].lower()
        mime_type = (_MIME.guess_type("x" + extension)[0] or "") if extension else ""
        info = FileInfo(
            id=new_id(),
            user_id=uploader.id,
            channel_id=channel_id,
            name=name,
            extension=extension.lstrip("."),
            size=len(data),
            mime_type=mime_type,
            create_at=self.directory.clock(),
            data=data,
        )
        if info.is_image and (size := _image_size(data)) is not None:
            info.width, info.height = size
        self.files[info.id] = info
        return info

    def readable(self, reader: User, file_id: str) -> FileInfo:
        """The uploader may always read; anyone else needs read access to the post's channel."""
        info = self.files.get(file_id)
        if info is None:
            raise AppError("app.file_info.get.app_error", 404)
        if info.user_id == reader.id:
            return info
        channel = self.directory.channels.get(info.channel_id)
        if not info.post_id or channel is None or not self.directory.is_member(reader.id, channel):
            raise forbidden()
        return info

    def attach(self, author: User, post_id: str, channel_id: str, file_ids: list[str]) -> list[str]:
        """`attachFileIDsToPost`: files not the author's, already attached or from elsewhere are dropped."""
        attached: list[str] = []
        for file_id in dict.fromkeys(file_ids):
            info = self.files.get(file_id)
            if (
                info
                and info.user_id == author.id
                and not info.post_id
                and info.channel_id in (channel_id, "")
            ):
                info.post_id = post_id
                attached.append(file_id)
        return attached
