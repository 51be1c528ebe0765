"""A scripted fake LLM server speaking OpenAI Chat Completions and Anthropic Messages.

In-process::

    async with FakeLLM() as llm:
        llm.script(Text("hi"), ToolCalls([Call("memory", {"action": "add"})]), Error(429, retry_after=0.01))
        client = openai.AsyncOpenAI(base_url=llm.base_url, api_key="k")        # http://127.0.0.1:PORT/v1
        claude = anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="k")  # no /v1
        ...
        [request] = await llm.wait_for_requests(1)
        request.system, request.tool_names, request.messages, request.api_key, request.body

Unscripted requests get the last user message echoed (`fallback=`), so benchmarks need no script. Both
clients retry 429/5xx and connection errors by default: use `max_retries=0` to see a failure turn's exception.

In another process: `python -m tests.fakes.llm --port N [--instant] [--no-record] [--strict]` prints
`FAKE_LLM_READY http://127.0.0.1:PORT`; script it with `RemoteFakeLLM(url)` over `/_fake/...`, or let
`FakeLLMProcess()` start it and hand you the `RemoteFakeLLM`.
"""

from .recording import RecordedRequest, UploadedFile
from .remote import FakeLLMProcess, RemoteFakeLLM
from .server import FakeLLM
from .turns import Call, Cut, Echo, Error, Malformed, Stall, Text, ToolCalls, Transcription, Usage

__all__ = [
    "Call",
    "Cut",
    "Echo",
    "Error",
    "FakeLLM",
    "FakeLLMProcess",
    "Malformed",
    "RecordedRequest",
    "RemoteFakeLLM",
    "Stall",
    "Text",
    "ToolCalls",
    "Transcription",
    "UploadedFile",
    "Usage",
]
