"""Upload, download and attach files (api4/file.go)."""

from __future__ import annotations

import json
import struct
import zlib

import aiohttp

from .conftest import World
from .openapi import validate_response
from .support import Harness, assert_same_shape, fixture


def _png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def _form(
    channel_id: str | None, *files: tuple[str, bytes], client_ids: tuple[str, ...] = ()
) -> aiohttp.FormData:
    form = aiohttp.FormData()
    if channel_id is not None:
        form.add_field("channel_id", channel_id)
    for client_id in client_ids:
        form.add_field("client_ids", client_id)
    for name, data in files:
        form.add_field("files", data, filename=name, content_type="application/octet-stream")
    return form


async def test_multipart_upload_matches_the_fixture(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).post(
        "/api/v4/files", data=_form(world.town.id, ("report.txt", b"x" * 42))
    )
    assert reply.status == 201
    validate_response("post", "/api/v4/files", 201, reply.json)
    assert_same_shape(reply.json, fixture("rest_file_upload_201.json"))
    info = reply.json["file_infos"][0]
    assert (info["name"], info["extension"], info["size"], info["mime_type"]) == (
        "report.txt",
        "txt",
        42,
        "text/plain",
    )
    assert (info["user_id"], info["channel_id"]) == (world.bot.id, world.town.id)


async def test_client_ids_are_echoed_one_per_file(h: Harness, world: World) -> None:
    form = _form(world.town.id, ("a.txt", b"a"), ("b.txt", b"b"), client_ids=("c1", "c2"))
    reply = await h.rest(world.bot).post("/api/v4/files", data=form)
    assert reply.status == 201
    assert reply.json["client_ids"] == ["c1", "c2"]
    assert [i["name"] for i in reply.json["file_infos"]] == ["a.txt", "b.txt"]
    short = _form(world.town.id, ("a.txt", b"a"), ("b.txt", b"b"), client_ids=("only-one",))
    mismatch = await h.rest(world.bot).post("/api/v4/files", data=short)
    assert (mismatch.status, mismatch.json["id"]) == (400, "api.context.invalid_param.app_error")


async def test_file_before_channel_id_uses_the_legacy_form(h: Harness, world: World) -> None:
    form = aiohttp.FormData()
    form.add_field("files", b"late", filename="late.txt")
    form.add_field("channel_id", world.town.id)
    reply = await h.rest(world.bot).post("/api/v4/files", data=form)
    assert reply.status == 201
    assert [i["name"] for i in reply.json["file_infos"]] == ["late.txt"]


async def test_raw_body_upload(h: Harness, world: World) -> None:
    path = f"/api/v4/files?channel_id={world.town.id}&filename=notes.md"
    reply = await h.rest(world.bot).post(path, data=b"# notes")
    assert reply.status == 201
    validate_response("post", "/api/v4/files", 201, reply.json)
    assert reply.json["client_ids"] is None
    assert reply.json["file_infos"][0]["name"] == "notes.md"
    no_name = await h.rest(world.bot).post(f"/api/v4/files?channel_id={world.town.id}", data=b"x")
    assert (no_name.status, no_name.json["message"]) == (
        400,
        "Invalid or missing filename parameter in request URL.",
    )


async def test_upload_errors(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    empty = await client.post(f"/api/v4/files?channel_id={world.town.id}&filename=a", data=b"")
    assert (empty.status, empty.json["id"]) == (400, "api.file.upload_file.read_request.app_error")
    form = _form(world.town.id, ("a.txt", b"a"))
    form.add_field("surprise", "x")
    unknown_field = await client.post("/api/v4/files", data=form)
    assert (unknown_field.status, unknown_field.json["message"]) == (400, "Invalid surprise parameter.")
    not_member = await h.rest(world.bob).post("/api/v4/files", data=_form(world.private.id, ("a.txt", b"a")))
    assert not_member.status == 403
    conflicting = aiohttp.FormData(default_to_multipart=True)
    conflicting.add_field("channel_id", world.town.id)
    conflicting.add_field("channel_id", world.private.id)
    clash = await client.post("/api/v4/files", data=conflicting)
    assert clash.json["id"] == "api.file.upload_file.multiple_channel_ids.app_error"


async def test_download_headers(h: Harness, world: World) -> None:
    info = await h.mm.upload_as(world.alice, world.dm, "pic one.png", _png(3, 2))
    assert (info.width, info.height, info.mime_type) == (3, 2, "image/png")
    reply = await h.session.get(
        f"{h.mm.url}/api/v4/files/{info.id}",
        headers={"Authorization": f"Bearer {h.mm.token_for(world.alice)}"},
    )
    assert reply.status == 200
    assert await reply.read() == info.data
    assert reply.headers["Content-Type"] == "image/png"
    assert (
        reply.headers["Content-Disposition"]
        == "inline;filename=\"pic%20one.png\"; filename*=UTF-8''pic%20one.png"
    )
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["Cache-Control"] == "private, max-age=86400"
    forced = await h.rest(world.alice).get(f"/api/v4/files/{info.id}?download=1")
    assert forced.headers["Content-Disposition"].startswith("attachment;")


async def test_unsafe_types_are_served_as_text(h: Harness, world: World) -> None:
    info = await h.mm.upload_as(world.alice, world.dm, "page.html", b"<script>")
    reply = await h.rest(world.alice).get(f"/api/v4/files/{info.id}")
    assert reply.headers["Content-Type"] == "text/plain"
    assert reply.headers["Content-Disposition"].startswith("attachment;")


async def test_only_the_uploader_reads_a_file_until_it_is_posted(h: Harness, world: World) -> None:
    info = await h.mm.upload_as(world.alice, world.dm, "note.txt", b"hello")
    bot = h.rest(world.bot)
    assert (await bot.get(f"/api/v4/files/{info.id}")).status == 403
    await h.mm.post_as(world.alice, world.dm, "see attached", file_ids=[info.id])
    assert (await bot.get(f"/api/v4/files/{info.id}")).text == "hello"
    described = await bot.get(f"/api/v4/files/{info.id}/info")
    assert described.status == 200
    validate_response("get", "/api/v4/files/{file_id}/info", 200, described.json)
    assert described.json["post_id"] == h.mm.posts_in(world.dm)[-1].id
    assert (await h.rest(world.bob).get(f"/api/v4/files/{info.id}")).status == 403
    missing = await bot.get("/api/v4/files/" + "f" * 26 + "/info")
    assert (missing.status, missing.json["id"]) == (404, "app.file_info.get.app_error")


async def test_posting_files_fills_metadata_and_the_event(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    picture = await h.mm.upload_as(world.alice, world.dm, "cat.png", _png(1, 1))
    text = await h.mm.upload_as(world.alice, world.dm, "cat.txt", b"meow")
    foreign = await h.mm.upload_as(world.bob, world.town, "bob.txt", b"not yours")
    post = await h.mm.post_as(world.alice, world.dm, "files", file_ids=[picture.id, text.id, foreign.id])
    assert post.file_ids == [picture.id, text.id]
    event = await socket.event("posted")
    assert (event["data"]["otherFile"], event["data"]["image"]) == ("true", "true")
    wire = json.loads(event["data"]["post"])
    assert wire["file_ids"] == [picture.id, text.id]
    assert [f["name"] for f in wire["metadata"]["files"]] == ["cat.png", "cat.txt"]
    assert all(f["post_id"] == post.id for f in wire["metadata"]["files"])
