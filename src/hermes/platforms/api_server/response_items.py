"""One response of the Responses API as it is built from a run's events: its output items, its JSON
object, and (streaming) its named events with `sequence_number`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from hermes.agent.contract import Failed, Final, TextDelta, ToolFinished, ToolStarted, Usage


def _id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(14).hex()}"


@dataclass
class ResponseBuilder:
    id: str
    created_at: int
    model: Any
    instructions: str | None
    previous_response_id: str | None
    store: bool
    status: str = "in_progress"
    output: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    error: dict[str, Any] | None = None
    _sequence: int = 0
    _message: dict[str, Any] | None = None
    _text: list[str] = field(default_factory=list)
    _calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "model": self.model,
            "output": self.output,
            "usage": {
                "input_tokens": self.usage.prompt_tokens,
                "output_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.prompt_tokens + self.usage.completion_tokens,
            },
            "error": self.error,
            "incomplete_details": None,
            "instructions": self.instructions,
            "previous_response_id": self.previous_response_id,
            "store": self.store,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "metadata": {},
        }

    def created(self) -> list[dict[str, Any]]:
        return [self._event("response.created", response=self.body())]

    def take(self, event: TextDelta | ToolStarted | ToolFinished) -> list[dict[str, Any]]:
        """Fold one agent event into the response; the stream events it makes."""
        if isinstance(event, TextDelta):
            return self._text_delta(event.text)
        events = self._close_message()
        if isinstance(event, ToolStarted):
            item = {
                "id": _id("fc"),
                "type": "function_call",
                "status": "in_progress",
                "name": event.name,
                "call_id": event.call_id,
                "arguments": json.dumps(event.arguments),
            }
            self._calls[event.call_id] = item
            self.output.append(item)
            events.append(
                self._event("response.output_item.added", output_index=len(self.output) - 1, item=item)
            )
            return events
        call = self._calls.pop(event.call_id, None)
        if call is not None:
            call["status"] = "completed"
            index = self.output.index(call)
            events.append(self._event("response.output_item.done", output_index=index, item=call))
        result = {
            "id": _id("fco"),
            "type": "function_call_output",
            "call_id": event.call_id,
            "output": event.summary,
            "status": "completed",
        }
        self.output.append(result)
        index = len(self.output) - 1
        events.append(self._event("response.output_item.added", output_index=index, item=result))
        events.append(self._event("response.output_item.done", output_index=index, item=result))
        return events

    def finish(self, end: Final | Failed | None) -> list[dict[str, Any]]:
        if isinstance(end, Final):
            events = [] if self._text or not end.text else self._text_delta(end.text)
            events += self._close_message()
            self.usage = end.usage
            self.status = "completed"
            return [*events, self._event("response.completed", response=self.body())]
        events = self._close_message()
        if end is not None and end.cancelled:
            self.status = "incomplete"
            self.error = None
            return [*events, self._event("response.incomplete", response=self.body())]
        self.status = "failed"
        message = end.message if end is not None else "The run ended without an answer."
        code = "provider_error" if end is not None and end.status is not None else "agent_error"
        self.error = {"code": code, "message": message}
        return [*events, self._event("response.failed", response=self.body())]

    def _text_delta(self, text: str) -> list[dict[str, Any]]:
        events = []
        if self._message is None:
            self._message = {
                "id": _id("msg"),
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            self._text = []
            self.output.append(self._message)
            index = len(self.output) - 1
            events.append(self._event("response.output_item.added", output_index=index, item=self._message))
        self._text.append(text)
        index = self.output.index(self._message)
        events.append(
            self._event(
                "response.output_text.delta",
                item_id=self._message["id"],
                output_index=index,
                content_index=0,
                delta=text,
                logprobs=[],
            )
        )
        return events

    def _close_message(self) -> list[dict[str, Any]]:
        message, self._message = self._message, None
        if message is None:
            return []
        text = "".join(self._text)
        index = self.output.index(message)
        message["status"] = "completed"
        message["content"] = [{"type": "output_text", "text": text, "annotations": []}]
        return [
            self._event(
                "response.output_text.done",
                item_id=message["id"],
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            ),
            self._event("response.output_item.done", output_index=index, item=message),
        ]

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event
