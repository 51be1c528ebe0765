"""File upload and download (api4/file.go, shared/web/file_response.go)."""

from __future__ import annotations

import email.utils
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, web

from .api import Api, Ctx, Reply
from .errors import AppError, invalid_param, invalid_url_param
from .files import FileStore
from .ids import is_valid_id
from .model import FileInfo
from .state import Directory

MAX_FORM_VALUE_BYTES = 10 * 1024  # maxMultipartFormDataBytes
MAX_FILE_SIZE = 100 * 1024 * 1024  # FileSettings.MaxFileSize default
_UNSAFE_TYPES = (
    "application/javascript",
    "application/ecmascript",
    "text/javascript",
    "text/ecmascript",
    "application/x-javascript",
    "text/html",
)
_MEDIA_TYPES = (
    "image/jpeg", "image/png", "image/bmp", "image/gif", "image/tiff", "image/webp",
    "video/avi", "video/mpeg", "video/mp4", "video/webm", "video/ogg", "video/quicktime", "video/x-matroska",
    "audio/mpeg", "audio/wav", "audio/ogg", "audio/webm", "audio/mp4", "audio/x-m4a", "audio/aac",
    "audio/flac",
)  # fmt: skip


def _read_request_error() -> AppError:
    return AppError("api.file.upload_file.read_request.app_error", 400)


def _file_response(info: FileInfo, force_download: bool) -> web.Response:
    """`WriteFileResponse`: safe content type, inline only for media, no framing."""
    content_type = info.mime_type or "application/octet-stream"
    if content_type.startswith(_UNSAFE_TYPES):
        content_type = "text/plain"
    inline = not force_download and content_type.startswith(_MEDIA_TYPES)
    name = quote(info.name, safe="$&+:=@")
    disposition = "inline" if inline else "attachment"
    headers = {
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Content-Type": content_type,
        "Content-Disposition": f"{disposition};filename=\"{name}\"; filename*=UTF-8''{name}",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "Frame-ancestors 'none'",
        "Accept-Ranges": "bytes",
        "Last-Modified": email.utils.formatdate(info.create_at / 1000, usegmt=True),
    }
    return web.Response(status=200, body=info.data, headers=headers)


def add_routes(router: web.UrlDispatcher, api: Api, directory: Directory, files: FileStore) -> None:
    file_path = "/api/v4/files/{file_id:[A-Za-z0-9]+}"

    def _channel_for_upload(channel_id: str) -> str:
        if not is_valid_id(channel_id):
            raise invalid_url_param("channel_id")
        return channel_id

    async def upload_simple(ctx: Ctx) -> Reply:
        query = ctx.request.query
        channel_id = _channel_for_upload(query.get("channel_id", ""))
        filename = query.get("filename", "")
        if not filename:
            raise invalid_url_param("filename")
        channel = directory.channels.get(channel_id)
        if channel is None or not directory.is_member(ctx.me.id, channel):
            raise AppError("api.context.permissions.app_error", 403)
        info = files.upload(ctx.me, channel_id, filename, bytes(await ctx.request.read()))
        client_id = query.get("client_id", "")
        return 201, {"file_infos": [info.to_json()], "client_ids": [client_id] if client_id else None}

    async def upload_multipart(ctx: Ctx, reader: MultipartReader) -> Reply:
        """uploadFileMultipart: fields before the first file steer it; a file before channel_id
        falls back to the legacy whole-form mode, which only reads parts named `files`."""
        channel_id = ctx.request.query.get("channel_id", "")
        client_ids: list[str] = []
        expect_client_ids = True
        infos: list[FileInfo] = []
        returned_ids: list[str] = []
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if not part.filename:
                value = bytes(await part.read())[:MAX_FORM_VALUE_BYTES].decode(errors="replace")
                if part.name == "channel_id":
                    if channel_id and channel_id != value:
                        raise AppError("api.file.upload_file.multiple_channel_ids.app_error", 400)
                    channel_id = value or channel_id
                elif part.name == "client_ids" and expect_client_ids:
                    client_ids.append(value)
                else:
                    raise invalid_param(part.name)
                continue
            if not channel_id:
                return await upload_legacy(ctx, reader, part)
            _channel_for_upload(channel_id)
            if not infos and not client_ids:
                expect_client_ids = False
            client_id = ""
            if expect_client_ids:
                if len(infos) >= len(client_ids):
                    raise invalid_param("client_ids")
                client_id = client_ids[len(infos)]
            infos.append(files.upload(ctx.me, channel_id, part.filename, bytes(await part.read())))
            if expect_client_ids:
                returned_ids.append(client_id)
        if expect_client_ids and len(client_ids) != len(infos):
            raise AppError(
                "api.file.upload_file.incorrect_number_of_client_ids.app_error",
                400,
                NumClientIds=len(client_ids),
                NumFiles=len(infos),
            )
        return 201, {"file_infos": [i.to_json() for i in infos], "client_ids": returned_ids}

    async def upload_legacy(ctx: Ctx, reader: MultipartReader, first: BodyPartReader) -> Reply:
        values: dict[str, list[str]] = {}
        uploads: list[tuple[str, bytes]] = []
        part: object = first
        while part is not None:
            if isinstance(part, BodyPartReader) and part.name:
                data = bytes(await part.read())
                if part.filename is not None:
                    if part.name == "files":
                        uploads.append((part.filename, data))
                else:
                    values.setdefault(part.name, []).append(data.decode(errors="replace"))
            part = await reader.next()
        if not values.get("channel_id"):
            raise invalid_param("channel_id")
        channel_id = _channel_for_upload(values["channel_id"][0])
        client_ids = values.get("client_ids", [])
        if client_ids and len(client_ids) != len(uploads):
            raise AppError(
                "api.file.upload_file.incorrect_number_of_client_ids.app_error",
                400,
                NumClientIds=len(client_ids),
                NumFiles=len(uploads),
            )
        infos = [files.upload(ctx.me, channel_id, name, data) for name, data in uploads]
        return 201, {"file_infos": [i.to_json() for i in infos], "client_ids": client_ids}

    async def upload_file(ctx: Ctx) -> Reply:
        if ctx.request.content_length == 0:
            raise _read_request_error()
        content_type = ctx.request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "multipart/form-data":
            return await upload_simple(ctx)
        if "boundary=" not in content_type:
            raise _read_request_error()
        try:
            reader = await ctx.request.multipart()
            return await upload_multipart(ctx, reader)
        except (ValueError, AssertionError):
            raise _read_request_error() from None

    async def get_file(ctx: Ctx) -> Reply:
        file_id = ctx.request.match_info["file_id"]
        if not is_valid_id(file_id):
            raise invalid_url_param("file_id")
        info = files.readable(ctx.me, file_id)
        return _file_response(
            info, ctx.request.query.get("download", "") in ("1", "t", "T", "TRUE", "true", "True")
        )

    async def get_file_info(ctx: Ctx) -> Reply:
        file_id = ctx.request.match_info["file_id"]
        if not is_valid_id(file_id):
            raise invalid_url_param("file_id")
        return 200, files.readable(ctx.me, file_id).to_json()

    router.add_post("/api/v4/files", api.route(upload_file))
    router.add_get(file_path, api.route(get_file))
    router.add_get(file_path + "/info", api.route(get_file_info))
