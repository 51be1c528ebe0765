"""The daemon's control socket: private, one JSON line each way, unharmed by bad clients."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from hermes.config import HermesPaths
from hermes.gateway.control import (
    MAX_LINE_BYTES,
    ControlServer,
    ask,
    control_socket_path,
)


async def status() -> dict[str, Any]:
    return {"answer": 42}


async def broken() -> dict[str, Any]:
    raise RuntimeError("the store is closed")


@pytest.fixture
async def server(tmp_path: Path) -> Any:
    control = ControlServer(tmp_path / "gateway.sock", {"status": status, "broken": broken})
    assert await control.start()
    yield control
    await control.stop()


async def exchange(path: Path, *lines: bytes) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    answers = []
    for line in lines:
        writer.write(line)
        await writer.drain()
        answers.append(json.loads(await reader.readline()))
    writer.close()
    return answers


async def test_only_the_owner_can_connect_and_a_request_is_answered(server: ControlServer) -> None:
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(server.path.stat().st_mode)
    answer = await asyncio.to_thread(ask, server.path, {"request": "status"}, 5.0)
    assert answer == {"ok": True, "status": {"answer": 42}}


async def test_bad_requests_get_an_error_line_and_the_connection_stays_usable(server: ControlServer) -> None:
    answers = await exchange(
        server.path,
        b"not json\n",
        b'["a list"]\n',
        b'{"request": "reboot"}\n',
        b'{"request": "broken"}\n',
        b'{"request": "status"}\n',
    )
    assert answers[0]["ok"] is False and answers[0]["error"].startswith("not a JSON object")
    assert answers[1] == {"ok": False, "error": "unknown request None; known: broken, status"}
    assert answers[2] == {"ok": False, "error": "unknown request 'reboot'; known: broken, status"}
    assert answers[3] == {"ok": False, "error": "broken failed: RuntimeError: the store is closed"}
    assert answers[4] == {"ok": True, "status": {"answer": 42}}


async def test_an_oversized_request_is_refused(server: ControlServer) -> None:
    reader, writer = await asyncio.open_unix_connection(str(server.path))
    writer.write(b"x" * (MAX_LINE_BYTES + 10) + b"\n")
    await writer.drain()
    answer = json.loads(await reader.readline())
    writer.close()
    assert answer == {"ok": False, "error": f"request longer than {MAX_LINE_BYTES} bytes"}
    assert (await asyncio.to_thread(ask, server.path, {"request": "status"}, 5.0))["ok"] is True


async def test_stop_removes_the_socket(tmp_path: Path) -> None:
    control = ControlServer(tmp_path / "gateway.sock", {"status": status})
    assert await control.start()
    await control.stop()
    assert not control.path.exists()
    with pytest.raises(OSError):
        await asyncio.to_thread(ask, control.path, {"request": "status"}, 1.0)


async def test_a_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()
    control = ControlServer(path, {"status": status})
    assert await control.start()
    try:
        assert (await asyncio.to_thread(ask, path, {"request": "status"}, 5.0))["ok"] is True
    finally:
        await control.stop()


async def test_a_second_server_on_a_live_socket_leaves_the_first_alone(server: ControlServer) -> None:
    second = ControlServer(server.path, {"status": broken})
    assert await second.start() is False
    await second.stop()
    assert (await asyncio.to_thread(ask, server.path, {"request": "status"}, 5.0))["status"] == {"answer": 42}


async def test_a_file_that_is_not_a_socket_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sock"
    path.write_text("someone's notes")
    control = ControlServer(path, {"status": status})
    assert await control.start() is False
    await control.stop()
    assert path.read_text() == "someone's notes"


async def test_a_home_too_long_for_a_socket_path_gets_one_in_the_temp_dir(tmp_path: Path) -> None:
    home = tmp_path / ("long-directory-name-" * 6)
    home.mkdir()
    path = control_socket_path(HermesPaths(home))
    assert path.parent.name == f"hermes-{os.getuid()}" and len(os.fsencode(path)) < 100
    assert control_socket_path(HermesPaths(home)) == path
    assert control_socket_path(HermesPaths(tmp_path)) == tmp_path / "gateway.sock"
    control = ControlServer(path, {"status": status})
    assert await control.start()
    try:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert (await asyncio.to_thread(ask, path, {"request": "status"}, 5.0))["ok"] is True
    finally:
        await control.stop()
