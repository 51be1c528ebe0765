"""`/v1/responses` (API-CONTRACT §8) with the official `openai` client: JSON and streaming, chains
through `previous_response_id`, stored (state.db or PostgreSQL), read back and deleted; failures reported
as failed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import openai
import pytest

from hermes.store.api_responses import StoredResponse
from tests.fakes.llm import Call, Error, Text, ToolCalls

from .conftest import Server, auth


def users(server: Server) -> list[str]:
    return [m["content"] for m in server.llm.chat_requests[-1].messages if m["role"] == "user"]


async def test_a_json_response(server: Server) -> None:
    server.llm.script(Text("Hello from Hermes."))
    response = await server.client().responses.create(model="hermes-agent", input="Say hello.")
    assert response.object == "response" and response.status == "completed"
    assert response.id.startswith("resp_")
    assert response.output_text == "Hello from Hermes."
    assert response.model == "hermes-agent"
    assert response.usage is not None and response.usage.total_tokens > 0
    assert response.error is None


async def test_a_chain_through_previous_response_id(server: Server) -> None:
    server.llm.script(Text("Noted, Ada."), Text("You are Ada."), Text("Still Ada."))
    client = server.client()
    first = await client.responses.create(model="hermes-agent", input="I am Ada.", instructions="Be brief.")
    second = await client.responses.create(
        model="hermes-agent", input="Who am I?", previous_response_id=first.id
    )
    assert second.output_text == "You are Ada."
    assert users(server) == ["I am Ada.", "Who am I?"]
    # Instructions carry along the chain.
    assert "Be brief." in server.llm.chat_requests[-1].system
    # Continuing from the first response again forks: the second exchange is not in this branch.
    await client.responses.create(model="hermes-agent", input="Branch?", previous_response_id=first.id)
    assert users(server) == ["I am Ada.", "Branch?"]


async def test_a_streamed_response_has_numbered_named_events(server: Server) -> None:
    server.llm.script(ToolCalls([Call("todo", {"todos": []})]), Text("Streamed answer."))
    stream = await server.client().responses.create(model="hermes-agent", input="Go.", stream=True)
    events = [event async for event in stream]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.output_item.added" in types and "response.output_text.done" in types
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Streamed answer."
    final = events[-1].response
    assert final.status == "completed" and final.output_text == "Streamed answer."
    kinds = [item.type for item in final.output]
    assert kinds == ["function_call", "function_call_output", "message"]
    # Stored: the streamed response can be read back and continued.
    stored = await server.client().responses.retrieve(final.id)
    assert stored.status == "completed" and stored.output_text == "Streamed answer."


async def test_a_streamed_response_is_stored_before_the_client_hears_it_completed(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store slower than SQLite on this host (PostgreSQL over a network) made this read back the response
    # as in_progress, and a chain continued from it lose its context.
    save = server.store.api_responses.save

    async def slow_save(stored: StoredResponse) -> None:
        await asyncio.sleep(0.3)
        await save(stored)

    monkeypatch.setattr(server.store.api_responses, "save", slow_save)
    server.llm.script(Text("Done."))
    stream = await server.client().responses.create(model="hermes-agent", input="Go.", stream=True)
    final = [event async for event in stream][-1].response
    stored = await server.client().responses.retrieve(final.id)
    assert stored.status == "completed" and stored.output_text == "Done."


async def test_a_streamed_chain(server: Server) -> None:
    server.llm.script(Text("One."), Text("Two."))
    client = server.client()
    first = [e async for e in await client.responses.create(model="m", input="first", stream=True)][
        -1
    ].response
    events = [
        e
        async for e in await client.responses.create(
            model="m", input="second", stream=True, previous_response_id=first.id
        )
    ]
    assert events[-1].response.output_text == "Two."
    assert users(server) == ["first", "second"]


async def test_a_failed_run_is_reported_failed(server: Server) -> None:
    server.llm.script(Error(400, "the provider says no"), Error(400, "no again"))
    client = server.client()
    response = await client.responses.create(model="hermes-agent", input="hi")
    assert response.status == "failed"
    assert response.error is not None and "provider says no" in response.error.message
    assert response.output_text == ""
    events = [e async for e in await client.responses.create(model="hermes-agent", input="hi", stream=True)]
    assert events[-1].type == "response.failed" and events[-1].response.status == "failed"


async def test_read_delete_and_unknown_ids(server: Server) -> None:
    client = server.client()
    response = await client.responses.create(model="hermes-agent", input="keep me")
    assert (await client.responses.retrieve(response.id)).id == response.id
    await client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        await client.responses.create(model="hermes-agent", input="hi", previous_response_id="resp_nope")
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "previous_response_id"


async def test_store_false_keeps_nothing_to_read(server: Server) -> None:
    client = server.client()
    response = await client.responses.create(model="hermes-agent", input="forget me", store=False)
    assert response.status == "completed"
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)


async def test_stored_responses_survive_a_restart(start_server: Any, server: Server) -> None:
    response = await server.client().responses.create(model="hermes-agent", input="remember")
    await server.platform.stop()
    await server.store.close()
    again: Server = await start_server(home=server.home)
    assert (await again.client().responses.retrieve(response.id)).output_text == response.output_text


async def test_retention_prunes_old_and_excess_responses(start_server: Any) -> None:
    server: Server = await start_server(api_server={"max_stored_responses": 2})
    client = server.client()
    ids = [(await client.responses.create(model="m", input=f"n{i}")).id for i in range(3)]
    responses = server.platform.responses
    assert responses is not None
    assert await responses.prune() == 1
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(ids[0])
    # Unused for longer than the retention period: gone too.
    assert await server.store.api_responses.prune(time.time() + 1, 100) == 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({}, "input"),
        ({"input": 3}, "input"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": "hi", "previous_response_id": "r", "conversation": "c"}, "conversation"),
        ({"input": "hi", "instructions": 5}, "instructions"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    server: Server, http: aiohttp.ClientSession, body: Any, param: str | None
) -> None:
    async with http.post(f"{server.base_url}/responses", json=body, headers=auth()) as response:
        assert response.status == 400
        assert (await response.json())["error"]["param"] == param
    assert server.llm.chat_requests == []
