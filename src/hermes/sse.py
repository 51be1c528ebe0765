"""Reading a `text/event-stream` body: the model providers' streams and a remote Hermes API server's.

The events are cut from the raw bytes rather than with the client's line reader, which refuses lines past
128 KiB; a model that streams a large tool argument in one chunk sends exactly such a line.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    name: str | None = None


async def server_sent_events(body: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """The events of the stream, by the WHATWG rules for `event` and `data` (`id` and `retry` are of no
    use here). An event cut off by the end of the body is still given: servers that end with
    `data: [DONE]` and no blank line are common."""
    pending = b""
    name: str | None = None
    data: list[str] = []
    async for chunk in body:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", "replace").removesuffix("\r")
            if line:
                field, _, value = line.partition(":")
                if field == "data":
                    data.append(value.removeprefix(" "))
                elif field == "event":
                    name = value.removeprefix(" ")
                continue
            if data:
                yield ServerSentEvent("\n".join(data), name)
            name, data = None, []
    if pending:
        field, _, value = pending.decode("utf-8", "replace").removesuffix("\r").partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield ServerSentEvent("\n".join(data), name)
