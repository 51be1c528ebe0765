"""Driving a fake in another process: a control client, and a launcher for `python -m tests.fakes.llm`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

import aiohttp

from .recording import RecordedRequest
from .turns import ChatTurn, Turn, turn_to_json, turns_to_json

READY = "FAKE_LLM_READY"
_REPO_ROOT = Path(__file__).resolve().parents[3]


class RemoteFakeLLM:
    """The scripting side of `FakeLLM`, over its `/_fake/...` control endpoint."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    async def __aenter__(self) -> RemoteFakeLLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def script(self, *turns: Turn) -> None:
        await self._call("POST", "/_fake/script", {"turns": turns_to_json(turns)})

    async def set_fallback(self, turn: ChatTurn | None) -> None:
        await self._call("PUT", "/_fake/fallback", {"turn": turn_to_json(turn)})

    async def requests(self, since: int = 0) -> list[RecordedRequest]:
        data = await self._call("GET", f"/_fake/requests?since={since}")
        return [RecordedRequest.from_json(r) for r in data["requests"]]

    async def wait_for_requests(
        self, count: int, *, path: str | None = None, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        data = await self._call("POST", "/_fake/wait", {"count": count, "path": path, "timeout": timeout})
        return [RecordedRequest.from_json(r) for r in data["requests"]]

    async def state(self) -> dict[str, int]:
        return await self._call("GET", "/_fake/state")

    async def reset(self) -> None:
        await self._call("POST", "/_fake/reset")

    async def _call(self, method: str, path: str, payload: Any = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(method, self.url + path, json=payload) as response:
            data = await response.json(content_type=None)
            if response.status == 408:
                raise TimeoutError(data["error"])
            if response.status != 200:
                raise RuntimeError(f"fake LLM control {method} {path}: {response.status} {data}")
            return data


class FakeLLMProcess:
    """Runs the fake as a subprocess on an ephemeral port; `async with` yields a `RemoteFakeLLM`.

    Extra arguments go to the command line (e.g. "--instant", "--no-record").
    """

    def __init__(self, *args: str, startup_timeout: float = 15.0) -> None:
        self.args = args
        self.startup_timeout = startup_timeout
        self.process: asyncio.subprocess.Process | None = None
        self.remote: RemoteFakeLLM | None = None

    async def __aenter__(self) -> RemoteFakeLLM:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.llm",
            "--port",
            "0",
            *self.args,
            cwd=_REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), self.startup_timeout)
        except TimeoutError:
            await self._stop()
            raise RuntimeError(f"fake LLM process did not start within {self.startup_timeout}s") from None
        text = line.decode().strip()
        if not text.startswith(READY):
            await self._stop()
            raise RuntimeError(f"fake LLM process failed to start: {text!r}")
        self.remote = RemoteFakeLLM(text.split()[1])
        return self.remote

    async def __aexit__(self, *exc: object) -> None:
        if self.remote is not None:
            await self.remote.close()
        await self._stop()

    async def _stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
