from pathlib import Path

import pytest

from hermes.agent.tools.base import ToolArgumentError
from hermes.agent.tools.send_message import SendMessageTool
from tests.unit.tools.conftest import RecordingServices, make_context

send = SendMessageTool()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "home:test"),
        ("home", "home:test"),
        ("home:matrix", "home:matrix"),
        ("mattermost", "home:mattermost"),
    ],
)
async def test_posts_to_home_channels(tmp_path: Path, target: str | None, expected: str) -> None:
    services = RecordingServices()
    args = {"text": "Backup finished."} | ({"target": target} if target else {})
    result = await send(args, make_context(tmp_path, services=services))
    assert result.ok and result.content == f"Posted to {expected} (message m1)."
    assert services.sent == [(expected, "Backup finished.")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required argument 'text'"),
        ({"text": "  "}, "blank"),
        ({"text": "x" * 16_001}, "at most 16000"),
        ({"text": "hi", "target": "matrix:!someroom:hs"}, "other chats cannot be posted to"),
        ({"text": "hi", "target": "home:"}, "other chats cannot be posted to"),
        ({"text": "hi", "target": "../etc"}, "other chats cannot be posted to"),
    ],
)
async def test_refusals(tmp_path: Path, args: dict, message: str) -> None:
    services = RecordingServices()
    with pytest.raises(ToolArgumentError, match=message):
        await send(args, make_context(tmp_path, services=services))
    assert services.sent == []


async def test_gateway_errors_come_back_as_tool_errors(tmp_path: Path) -> None:
    services = RecordingServices(send_error=LookupError("matrix has no home channel: send /sethome"))
    result = await send({"text": "hi"}, make_context(tmp_path, services=services))
    assert not result.ok and "send /sethome" in result.content
    outside = await send({"text": "hi"}, make_context(tmp_path, services=None))
    assert not outside.ok and "while the gateway runs" in outside.content
