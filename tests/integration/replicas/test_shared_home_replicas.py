"""Two `hermes gateway run` processes on one PostgreSQL: what the agent saves on one, and a SOUL.md an
operator edits in one's home, are in the other's next prompt (as the fake LLM recorded it)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.harness.postgres_server import PostgresServer
from tests.integration.replicas.test_api_replicas import api_replicas, ask


async def test_memory_and_soul_edited_on_one_replica_reach_the_other(
    tmp_path: Path, llm: FakeLLM, postgres: PostgresServer
) -> None:
    url = postgres.create_database()
    try:
        async with api_replicas(tmp_path, llm, url) as (one, two), aiohttp.ClientSession() as http:
            note = {"action": "add", "target": "memory", "content": "The deploy host is hermes-01"}
            llm.script(ToolCalls([Call("memory", note)]), Text("Noted."))
            assert await ask(http, one, "shared-a", "remember the deploy host") == "Noted."
            await ask(http, two, "shared-b", "where do we deploy?")
            assert "The deploy host is hermes-01" in llm.chat_requests[-1].system
            mirrored = tmp_path / "two" / "memories" / "MEMORY.md"
            assert mirrored.read_text() == "The deploy host is hermes-01\n"

            soul = tmp_path / "one" / "SOUL.md"
            temp = soul.with_name(".SOUL.md.editor")
            temp.write_text("You are Marvin, a gloomy robot.\n")
            os.replace(temp, soul)
            # Replica one stores the edit when it next looks at its home (every 2 s).
            async with asyncio.timeout(15):
                while True:
                    await ask(http, two, "shared-b", "who are you?")
                    if llm.chat_requests[-1].system.startswith("You are Marvin, a gloomy robot."):
                        break
                    await asyncio.sleep(0.3)
    finally:
        postgres.drop_database(url)
