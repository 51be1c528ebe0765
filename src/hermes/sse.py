"""Reading a `text/event-stream` body: the model providers' streams and a remote Hermes API server's.

The events are cut from the raw bytes rather than with the client's line reader, which refuses lines past
128 KiB; a model that streams a large tool argument in one chunk sends exactly such a line.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    name: str | None = None


async def server_sent_events(body: AsyncIterable[bytes]) -> AsyncGenerator[ServerSentEvent, None]:
    """The events of the stream, by the WHATWG rules for `event` and `data` (`id` and `retry` are of no
    use here). Lines end in LF or CRLF (a lone CR, which no model server sends, is not a line end). An event
    cut off by the end of the body is still given: servers that end with `data: [DONE]` and no blank line
    are common."""
    # The pieces of a line that spans chunks, joined once its end arrives: a multi-megabyte line in small
    # chunks costs linear time.
    pending: list[bytes] = []
    name: str | None = None
    data: list[str] = []
    first = True
    async for chunk in body:
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        lines = chunk.split(b"\n")
        if pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending = []
        tail = lines.pop()
        if tail:
            pending.append(tail)
        for raw in lines:
            line = raw.decode("utf-8", "replace").removesuffix("\r")
            if first:
                line, first = line.removeprefix(_BOM), False
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
        line = b"".join(pending).decode("utf-8", "replace").removesuffix("\r")
        field, _, value = (line.removeprefix(_BOM) if first else line).partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield ServerSentEvent("\n".join(data), name)
