"""The API server on two replicas sharing PostgreSQL: a session started on one continues on the other,
and two runs on one session, one on each replica, never overlap."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.fakes.llm import FakeLLM, Text
from tests.harness.gateway import GatewayProcess, llm_config, start_gateway_process, wait_for_log, write_home
from tests.harness.postgres_server import PostgresServer
from tests.harness.synapse_server import free_port

KEY = "replica-key-0123456789abcdef"


@contextlib.asynccontextmanager
async def api_replicas(tmp_path: Path, llm: FakeLLM, url: str) -> AsyncIterator[list[str]]:
    """Two gateways serving the API on their own ports, sharing the database at `url`; their base URLs."""
    processes: list[GatewayProcess] = []
    bases = []
    try:
        for name in ("one", "two"):
            port = free_port()
            home = write_home(
                tmp_path / name,
                config={"model": llm_config(llm.base_url)},
                env={
                    "API_SERVER_ENABLED": "true",
                    "API_SERVER_PORT": str(port),
                    "API_SERVER_KEY": KEY,
                    "HERMES_DATABASE_URL": url,
                },
            )
            processes.append(start_gateway_process(home))
            bases.append(f"http://127.0.0.1:{port}")
        for process in processes:
            await wait_for_log(process, "gateway running")
        yield bases
    finally:
        for process in processes:
            if process.proc.poll() is None:
                assert process.terminate() == 0


async def ask(session: aiohttp.ClientSession, base: str, session_id: str, text: str) -> str:
    headers = {"Authorization": f"Bearer {KEY}", "X-Hermes-Session-Id": session_id}
    body = {"model": "hermes-agent", "messages": [{"role": "user", "content": text}]}
    async with session.post(f"{base}/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        answer = await response.json()
    content: str = answer["choices"][0]["message"]["content"]
    return content


def sent_texts(request_body: dict[str, object]) -> list[str]:
    messages = request_body["messages"]
    assert isinstance(messages, list)
    return [str(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") != "system"]


async def test_a_session_started_on_one_replica_continues_on_the_other(
    tmp_path: Path, llm: FakeLLM, postgres: PostgresServer
) -> None:
    url = postgres.create_database()
    llm.script(Text("Hello Ada."), Text("You are Ada."))
    try:
        async with api_replicas(tmp_path, llm, url) as (one, two), aiohttp.ClientSession() as http:
            assert await ask(http, one, "shared-1", "My name is Ada.") == "Hello Ada."
            assert await ask(http, two, "shared-1", "What is my name?") == "You are Ada."
    finally:
        postgres.drop_database(url)
    last = llm.chat_requests[-1].body
    assert sent_texts(last)[-3:] == ["My name is Ada.", "Hello Ada.", "What is my name?"]


async def test_runs_on_one_session_on_two_replicas_never_overlap(
    tmp_path: Path, llm: FakeLLM, postgres: PostgresServer
) -> None:
    url = postgres.create_database()
    llm.script(Text("the slow answer", delay=1.5), Text("the second answer"))
    try:
        async with api_replicas(tmp_path, llm, url) as (one, two), aiohttp.ClientSession() as http:
            first = asyncio.create_task(ask(http, one, "shared-2", "first question"))
            await asyncio.sleep(0.5)
            second = asyncio.create_task(ask(http, two, "shared-2", "second question"))
            assert await first == "the slow answer"
            assert await second == "the second answer"
    finally:
        postgres.drop_database(url)
    # The second run started only once the first had finished: it saw the first exchange whole.
    assert sent_texts(llm.chat_requests[-1].body)[-3:] == [
        "first question",
        "the slow answer",
        "second question",
    ]
