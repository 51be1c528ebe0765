"""Every request the fake receives, kept so tests can assert on what the model was sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["openai", "anthropic", "other"]


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    api: Api
    headers: dict[str, str]
    """Header names in lower case."""
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    """The parsed JSON body, or None when there was none or it was not JSON."""
    raw: bytes = b""
    form: dict[str, str | UploadedFile] = field(default_factory=dict)
    """Fields of a multipart body (audio uploads)."""

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return messages if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return tools if isinstance(tools, list) else []

    @property
    def tool_names(self) -> list[str]:
        names = []
        for tool in self.tools:
            if not isinstance(tool, dict):
                continue
            # OpenAI nests the name under "function"; Anthropic has it at the top.
            holder = tool["function"] if isinstance(tool.get("function"), dict) else tool
            names.append(str(holder.get("name")))
        return names

    @property
    def system(self) -> str:
        """The system prompt as text: Anthropic's top-level `system`, or OpenAI's system/developer turns."""
        if self.api == "anthropic":
            return content_text(self.body.get("system", "")) if isinstance(self.body, dict) else ""
        parts = [
            content_text(m.get("content"))
            for m in self.messages
            if isinstance(m, dict) and m.get("role") in ("system", "developer")
        ]
        return "\n".join(parts)

    @property
    def api_key(self) -> str | None:
        """The credential sent, from `Authorization: Bearer ...` or Anthropic's `x-api-key`."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    @property
    def last_user_text(self) -> str:
        return last_user_text(self.body)

    def to_json(self) -> dict[str, Any]:
        form: dict[str, Any] = {}
        for name, value in self.form.items():
            if isinstance(value, UploadedFile):
                form[name] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": len(value.data),
                }
            else:
                form[name] = value
        return {
            "method": self.method,
            "path": self.path,
            "api": self.api,
            "headers": self.headers,
            "query": self.query,
            "body": self.body,
            "form": form,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedRequest:
        """Rebuilds a request fetched from the control endpoint; uploaded files come back without data."""
        form: dict[str, str | UploadedFile] = {}
        for name, value in data.get("form", {}).items():
            if isinstance(value, dict):
                form[name] = UploadedFile(value["filename"], value["content_type"], b"")
            else:
                form[name] = value
        return cls(
            method=data["method"],
            path=data["path"],
            api=data["api"],
            headers=data["headers"],
            query=data.get("query", {}),
            body=data.get("body"),
            form=form,
        )


def last_user_text(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    """Text of a message `content` in either API's shape: a string, or a list of parts/blocks.

    Tool results count as text, so an echo after a tool call repeats what the tool returned.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "tool_result":
            texts.append(content_text(part.get("content")))
    return "\n".join(texts)


class Recorder:
    """Keeps requests in arrival order and wakes whoever waits for a count to be reached."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.requests: list[RecordedRequest] = []
        self.count = 0
        self._waiters: list[tuple[int, str | None, asyncio.Future[None]]] = []

    def add(self, request: RecordedRequest | None) -> None:
        """Counts a request, and keeps it when recording (None when not recording: counted only)."""
        self.count += 1
        if request is not None and self.keep:
            self.requests.append(request)
        if self._waiters:
            self._wake()

    def clear(self) -> None:
        self.requests.clear()
        self.count = 0

    def matching(self, path: str | None) -> int:
        return self.count if path is None else sum(1 for r in self.requests if r.path == path)

    def _wake(self) -> None:
        for wanted, path, future in self._waiters:
            if not future.done() and self.matching(path) >= wanted:
                future.set_result(None)

    async def wait_for(self, count: int, path: str | None, timeout: float) -> list[RecordedRequest]:
        """Waits until `count` requests (to `path`, if given) have arrived; TimeoutError says how many did."""
        if self.matching(path) < count:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiter = (count, path, future)
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(future, timeout)
            except TimeoutError:
                where = f" to {path}" if path else ""
                raise TimeoutError(
                    f"fake LLM: waited {timeout}s for {count} request(s){where}, got {self.matching(path)}"
                ) from None
            finally:
                self._waiters.remove(waiter)
        return [r for r in self.requests if path is None or r.path == path]
