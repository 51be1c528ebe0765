"""The SSE chunks, byte for byte the shape OpenAI's clients parse."""

from __future__ import annotations

import json

from hermes.agent.contract import ToolFinished, ToolStarted, Usage
from hermes.platforms.api_server.sse import DONE, ChunkFormat, error_event


def data_lines(raw: bytes) -> list[dict]:
    events = raw.decode().split("\n\n")
    return [json.loads(e.split("data: ", 1)[1]) for e in events if e.startswith(("data: {", "event:"))]


def test_chunks_share_id_model_and_created() -> None:
    chunks = ChunkFormat("chatcmpl-1", 1700000000, "hermes-agent", include_usage=False)
    opening, text = data_lines(chunks.opening())[0], data_lines(chunks.text('say "hi"\n'))[0]
    for chunk in (opening, text):
        assert chunk["id"] == "chatcmpl-1"
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["created"] == 1700000000
        assert chunk["model"] == "hermes-agent"
        assert "usage" not in chunk
    assert opening["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
    ]
    assert text["choices"][0]["delta"] == {"content": 'say "hi"\n'}


def test_closing_with_usage() -> None:
    chunks = ChunkFormat("c", 1, "m", include_usage=True)
    raw = chunks.closing(Usage(12, 5))
    assert raw.endswith(DONE)
    finish, usage = data_lines(raw)
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["usage"] is None
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    assert data_lines(chunks.text("x"))[0]["usage"] is None


def test_closing_without_usage() -> None:
    raw = ChunkFormat("c", 1, "m", include_usage=False).closing(Usage(1, 1))
    assert len(data_lines(raw)) == 1 and raw.endswith(DONE)


def test_tool_progress_is_a_named_event_with_an_empty_delta() -> None:
    chunks = ChunkFormat("c", 1, "m", include_usage=True)
    started = chunks.tool_progress(ToolStarted("call_1", "web_search", {"q": "secret query"}))
    assert started.startswith(b"event: hermes.tool.progress\ndata: ")
    [chunk] = data_lines(started)
    assert chunk["choices"][0]["delta"] == {}
    assert chunk["hermes"] == {"tool": "web_search", "call_id": "call_1", "status": "started"}
    assert b"secret query" not in started
    [done] = data_lines(chunks.tool_progress(ToolFinished("call_1", "web_search", False, "timed out")))
    assert done["hermes"] == {
        "tool": "web_search",
        "call_id": "call_1",
        "status": "finished",
        "ok": False,
        "summary": "timed out",
    }


def test_error_event_ends_the_stream() -> None:
    raw = error_event({"error": {"message": "boom", "type": "api_error", "param": None, "code": None}})
    assert raw.endswith(DONE)
    assert json.loads(raw.decode().split("\n\n")[0].removeprefix("data: "))["error"]["message"] == "boom"
