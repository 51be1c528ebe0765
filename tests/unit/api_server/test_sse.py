"""The SSE chunks, byte for byte the shape OpenAI's clients parse."""

from __future__ import annotations

import json

from hermes.agent.contract import ToolFinished, ToolStarted, Usage
from hermes.platforms.api_server.sse import DONE, ChunkFormat


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
    counts = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    assert finish["usage"] == counts
    assert "hermes" not in finish
    assert usage["choices"] == []
    assert usage["usage"] == counts
    assert data_lines(chunks.text("x"))[0]["usage"] is None


def test_closing_without_usage_still_counts_in_the_finish_chunk() -> None:
    raw = ChunkFormat("c", 1, "m", include_usage=False).closing(Usage(1, 1))
    [finish] = data_lines(raw)
    assert finish["usage"] == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    assert raw.endswith(DONE)


def test_tool_progress_is_a_named_event_with_an_empty_delta() -> None:
    chunks = ChunkFormat("c", 1, "m", include_usage=True)
    started = chunks.tool_progress(ToolStarted("call 1", "web_search", {"q": "secret query"}))
    assert started is not None and started.startswith(b"event: hermes.tool.progress\ndata: ")
    [chunk] = data_lines(started)
    assert chunk["choices"][0]["delta"] == {}
    assert (chunk["tool"], chunk["toolCallId"], chunk["status"]) == ("web_search", "call_1", "running")
    assert b"secret query" not in started
    finished = chunks.tool_progress(ToolFinished("call 1", "web_search", False, "timed out"))
    assert finished is not None
    [done] = data_lines(finished)
    assert (done["tool"], done["toolCallId"], done["status"], done["ok"]) == (
        "web_search",
        "call_1",
        "completed",
        False,
    )
    assert chunks.tool_progress(ToolStarted("c2", "_thinking", {})) is None


def test_a_failure_after_the_start_is_an_error_finish_chunk() -> None:
    error = {"message": "boom", "type": "api_error", "code": "provider_error", "provider_status": 500}
    raw = ChunkFormat("c", 1, "m", include_usage=False).failure(error, True, Usage())
    assert raw.endswith(DONE)
    [chunk] = data_lines(raw)
    assert chunk["choices"] == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "error"}]
    assert chunk["error"] == error
    assert chunk["hermes"] == {
        "completed": False,
        "partial": True,
        "failed": True,
        "error": "boom",
        "error_code": "agent_error",
    }
