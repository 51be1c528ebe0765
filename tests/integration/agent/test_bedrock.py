"""Bedrock through `AsyncAnthropicBedrock` with a stubbed transport: the fake LLM cannot check SigV4 or speak
AWS event streams, so this test plays Bedrock's side — signed requests in, event-stream frames out."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from hermes.agent.contract import AgentEvent, Failed, Final, RunRequest, ToolFinished
from hermes.agent.local import LocalAgent
from hermes.agent.providers.bedrock import BedrockProvider
from hermes.config import load_config
from hermes.store import Store
from tests.integration.agent.conftest import FAST_RETRY

ACCESS_KEY = "AKIATESTACCESSKEY123"
SECRET_KEY = "bedrock-SECRET-key-0123456789abcdef"
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude, prelude CRC, string headers, payload, message CRC."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + len(value).to_bytes(2, "big") + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    message = prelude + binascii.crc32(prelude).to_bytes(4, "big") + encoded + payload
    return message + binascii.crc32(message).to_bytes(4, "big")


def chunk(event: dict[str, Any]) -> bytes:
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()
    return frame(
        {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload
    )


def text_turn(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "message_start", "message": _message(12)},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
            for w in re.findall(r"\S+\s*", text)
        ),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
    ]


def tool_turn(name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    raw = json.dumps(arguments)
    return [
        {"type": "message_start", "message": _message(20)},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_b1", "name": name, "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": raw[:5]},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": raw[5:]},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]


def _message(input_tokens: int) -> dict[str, Any]:
    return {
        "id": "msg_b",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }


class FakeBedrock:
    """Answers each request with the next scripted turn: a list of events, or an (HTTP status, body) pair."""

    def __init__(self) -> None:
        self.turns: list[Any] = []
        self.requests: list[httpx2.Request] = []

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        self.requests.append(request)
        turn = self.turns.pop(0)
        if isinstance(turn, tuple):
            status, body = turn
            return httpx2.Response(
                status, json=body, headers={"x-amzn-ErrorType": "ThrottlingException", "Retry-After": "0"}
            )
        body = b"".join(chunk(event) for event in turn)
        return httpx2.Response(
            200, content=body, headers={"content-type": "application/vnd.amazon.eventstream"}
        )

    def body(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


@pytest.fixture
async def bedrock(tmp_path: Path) -> AsyncIterator[tuple[LocalAgent, FakeBedrock]]:
    (tmp_path / "config.yaml").write_text(f"model:\n  provider: bedrock\n  default: {MODEL}\n")
    config = load_config(
        environ={
            "HERMES_HOME": str(tmp_path),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "eu-west-3",
        }
    )
    fake = FakeBedrock()
    provider = BedrockProvider.from_settings(
        config.settings, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle))
    )
    store = await Store.open(config.paths.state_db)
    agent = LocalAgent(config, store, provider=provider, retry=FAST_RETRY)
    yield agent, fake
    await agent.close()
    await store.close()


async def run(agent: LocalAgent, text: str) -> list[AgentEvent]:
    request = RunRequest(session_key="test:dm:b", text=text, platform="test", chat_kind="dm")
    async with asyncio.timeout(10):
        return [event async for event in agent.run(request, asyncio.Event())]


async def test_requests_are_signed_for_the_configured_region(bedrock) -> None:
    agent, fake = bedrock
    fake.turns = [text_turn("Hello from Bedrock.")]
    events = await run(agent, "hi")
    assert isinstance(events[-1], Final) and events[-1].text == "Hello from Bedrock."
    assert events[-1].usage.prompt_tokens == 12 and events[-1].usage.completion_tokens == 7
    request = fake.requests[0]
    assert request.url.host == "bedrock-runtime.eu-west-3.amazonaws.com"
    assert request.url.path == f"/model/{MODEL}/invoke-with-response-stream"
    authorization = request.headers["authorization"]
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert "/eu-west-3/bedrock/aws4_request" in authorization
    assert SECRET_KEY not in authorization


async def test_a_conversation_carries_its_history(bedrock) -> None:
    agent, fake = bedrock
    fake.turns = [text_turn("Nice to meet you, Ada."), text_turn("You are Ada.")]
    await run(agent, "I am Ada.")
    events = await run(agent, "Who am I?")
    assert isinstance(events[-1], Final) and events[-1].text == "You are Ada."
    body = fake.body()
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"][0]["text"] == "Nice to meet you, Ada."
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "anthropic_version" in body and "model" not in body


async def test_tool_calls_run_and_their_results_go_back(bedrock) -> None:
    agent, fake = bedrock
    todo = {"todos": [{"id": "1", "content": "Pack", "status": "pending"}]}
    fake.turns = [tool_turn("todo", todo), text_turn("Listed.")]
    events = await run(agent, "make a list")
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.ok and finished.name == "todo"
    assert isinstance(events[-1], Final) and events[-1].text == "Listed."
    messages = fake.body()["messages"]
    assert messages[1]["content"][0] == {"type": "tool_use", "id": "toolu_b1", "name": "todo", "input": todo}
    assert messages[2]["content"][0]["tool_use_id"] == "toolu_b1"
    assert "[ ] 1. Pack" in messages[2]["content"][0]["content"]


async def test_throttling_is_retried_and_persistent_errors_hide_the_secret(bedrock) -> None:
    agent, fake = bedrock
    fake.turns = [(429, {"message": "Too many requests"}), text_turn("Finally.")]
    events = await run(agent, "hi")
    assert isinstance(events[-1], Final) and len(fake.requests) == 2
    fake.turns = [(403, {"message": f"The security token {SECRET_KEY} is invalid"})]
    events = await run(agent, "again")
    assert isinstance(events[-1], Failed) and events[-1].status == 403
    assert "Bedrock returned HTTP 403" in events[-1].message and SECRET_KEY not in events[-1].message
