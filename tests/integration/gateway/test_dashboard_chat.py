"""The gateway's side of the dashboard's chat: streamed turns over the control socket, bad requests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hermes.dashboard.gateway_link import GatewayLink, GatewayUnavailable
from hermes.gateway.control import control_socket_path
from tests.fakes.llm import FakeLLM, Text
from tests.harness.gateway import RunningGateway, gateway_in_process, llm_config, write_home


async def raw_lines(gateway: RunningGateway, *requests: dict[str, object]) -> list[list[dict[str, object]]]:
    """Each request's answer lines (events up to the last line), all on one connection."""
    reader, writer = await asyncio.open_unix_connection(str(control_socket_path(gateway.config.paths)))
    answers = []
    try:
        for request in requests:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            lines = [json.loads(await reader.readline())]
            while "event" in lines[-1]:
                lines.append(json.loads(await reader.readline()))
            answers.append(lines)
    finally:
        writer.close()
    return answers


async def test_a_turn_streams_and_bad_requests_get_an_error_line(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    async with FakeLLM(instant=True) as llm:
        llm.script(Text("hello operator"))
        # The in-memory test platform: a gateway serving no platform at all does not start.
        home = write_home(
            tmp_path / "home",
            config={"model": llm_config(llm.base_url), "gateway": {"plugins": ["hermes.testing"]}},
            env=store_env,
        )
        async with gateway_in_process(home) as gateway:
            await asyncio.wait_for(gateway.gateway.started.wait(), 10)
            link = GatewayLink(control_socket_path(gateway.config.paths))
            events = [e async for e in link.stream({"request": "chat", "session": "s1", "text": "hi"})]
            answers = await raw_lines(
                gateway,
                {"request": "chat", "session": "../etc", "text": "hi"},
                {"request": "chat", "session": "s1", "text": "   "},
                {"request": "approve", "id": "nope", "approve": True},
                {"request": "status"},
            )
            try:
                _ = [e async for e in link.stream({"request": "chat", "session": 5, "text": "x"})]
                refused = ""
            except GatewayUnavailable as exc:
                refused = str(exc)
            assert gateway.gateway.hub is not None
            session = await gateway.gateway.hub.store.sessions.current("dashboard:dm:s1")
    assert [e["type"] for e in events] == ["delta", "final"] and events[-1]["text"] == "hello operator"
    assert answers[0] == [{"ok": False, "error": "session must be 1-64 letters, digits, '-' or '_'"}]
    assert answers[1] == [{"ok": False, "error": "text must be 1-32000 characters"}]
    assert answers[2] == [{"ok": True, "event": {"type": "unknown_approval"}}, {"ok": True, "done": True}]
    assert answers[3][0]["ok"] is True and "status" in answers[3][0]  # the connection stayed usable
    assert "session must be" in refused
    assert session is not None and session.platform == "dashboard" and session.message_count == 2
