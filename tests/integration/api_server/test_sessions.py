"""Requests without a session id, server-side sessions through `X-Hermes-Session-Id`, and serialised runs
per session."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.fakes.llm import Text

from .conftest import Server, auth

HEADER = "X-Hermes-Session-Id"


def contents(messages: list[dict], role: str) -> list[str]:
    return [m["content"] for m in messages if m["role"] == role]


async def test_a_request_without_a_session_id_uses_the_body_as_history(server: Server) -> None:
    server.llm.script(Text("Paris."))
    raw = await server.client().chat.completions.with_raw_response.create(
        model="hermes-agent",
        messages=[
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Capital of Italy?"},
            {"role": "assistant", "content": "Rome."},
            {"role": "user", "content": "And France?"},
        ],
    )
    assert raw.parse().choices[0].message.content == "Paris."
    [request] = server.llm.chat_requests
    assert contents(request.messages, "user") == ["Capital of Italy?", "And France?"]
    assert contents(request.messages, "assistant") == ["Rome."]
    # The client's system message is layered over the agent's own prompt, not instead of it.
    assert "Answer in one word." in request.system
    assert "Today is" in request.system
    assert len(raw.headers[HEADER]) >= 16


async def test_the_next_message_sent_alone_with_the_returned_id_continues_the_exchange(
    server: Server,
) -> None:
    server.llm.script(Text("Nice to meet you, Ada."), Text("Your name is Ada."))
    client = server.client()
    first = await client.chat.completions.with_raw_response.create(
        model="hermes-agent",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My name is Ada."}],
    )
    session_id = first.headers[HEADER]
    second = await client.chat.completions.create(
        model="hermes-agent",
        messages=[{"role": "user", "content": "What is my name?"}],
        extra_headers={HEADER: session_id},
    )
    assert second.choices[0].message.content == "Your name is Ada."
    request = server.llm.chat_requests[-1]
    assert contents(request.messages, "user") == ["My name is Ada.", "What is my name?"]
    assert contents(request.messages, "assistant") == ["Nice to meet you, Ada."]
    # Kept as a session like any other: listed, and deleted the same way.
    stored = await server.store.sessions.current(f"api_server:session:{session_id}")
    assert stored is not None and stored.platform == "api_server"


async def test_each_stateless_request_gets_a_new_session_id(server: Server) -> None:
    client = server.client()
    ids = set()
    for _ in range(3):
        raw = await client.chat.completions.with_raw_response.create(
            model="hermes-agent", messages=[{"role": "user", "content": "hi"}]
        )
        ids.add(raw.headers[HEADER])
    assert len(ids) == 3


async def test_session_header_continues_the_server_side_transcript(server: Server) -> None:
    server.llm.script(Text("Nice to meet you, Ada."), Text("Your name is Ada."))
    client = server.client()
    headers = {HEADER: "my-session-1"}
    first = await client.chat.completions.with_raw_response.create(
        model="hermes-agent",
        messages=[{"role": "user", "content": "My name is Ada."}],
        extra_headers=headers,
    )
    assert first.headers[HEADER] == "my-session-1"
    # The client resends its whole history; only the last user message is new to the server.
    second = await client.chat.completions.create(
        model="hermes-agent",
        messages=[
            {"role": "user", "content": "this old message is not sent again"},
            {"role": "assistant", "content": "neither is this one"},
            {"role": "user", "content": "What is my name?"},
        ],
        extra_headers=headers,
    )
    assert second.choices[0].message.content == "Your name is Ada."
    last = server.llm.chat_requests[-1]
    assert contents(last.messages, "user") == ["My name is Ada.", "What is my name?"]
    assert contents(last.messages, "assistant") == ["Nice to meet you, Ada."]
    stored = await server.store.sessions.current("api_server:session:my-session-1")
    assert stored is not None
    rows = await server.store.sessions.messages(stored.id)
    assert [(r.role, r.content) for r in rows] == [
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
        ("assistant", "Your name is Ada."),
    ]


async def test_reusing_the_id_of_a_stateless_exchange_carries_that_exchange_on(server: Server) -> None:
    server.llm.script(Text("Nice to meet you, Ada."), Text("Your name is Ada."), Text("Still Ada."))
    client = server.client()
    opening = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "My name is Ada."},
    ]
    first = await client.chat.completions.with_raw_response.create(model="hermes-agent", messages=opening)
    session_id = first.headers[HEADER]
    reply = first.parse().choices[0].message.content
    # The client goes on the way OpenAI clients do: the whole conversation, now with the id it was given.
    await client.chat.completions.create(
        model="hermes-agent",
        messages=[*opening, {"role": "assistant", "content": reply}, {"role": "user", "content": "My name?"}],
        extra_headers={HEADER: session_id},
    )
    second = server.llm.chat_requests[-1]
    assert contents(second.messages, "user") == ["My name is Ada.", "My name?"]
    assert contents(second.messages, "assistant") == ["Nice to meet you, Ada."]
    assert "Be brief." in second.system
    # From now on the server holds the transcript: the body's history is not taken again.
    await client.chat.completions.create(
        model="hermes-agent",
        messages=[{"role": "user", "content": "a rewritten past"}, {"role": "user", "content": "Again?"}],
        extra_headers={HEADER: session_id},
    )
    third = server.llm.chat_requests[-1]
    assert contents(third.messages, "user") == ["My name is Ada.", "My name?", "Again?"]
    stored = await server.store.sessions.current(f"api_server:session:{session_id}")
    assert stored is not None
    rows = await server.store.sessions.messages(stored.id)
    assert [r.role for r in rows] == ["user", "assistant", "user", "assistant", "user", "assistant"]


async def test_system_messages_apply_to_session_requests_too(server: Server) -> None:
    await server.client().chat.completions.create(
        model="hermes-agent",
        messages=[{"role": "system", "content": "Speak like a pirate."}, {"role": "user", "content": "hi"}],
        extra_headers={HEADER: "pirate"},
    )
    [request] = server.llm.chat_requests
    assert "Speak like a pirate." in request.system
    assert contents(request.messages, "user") == ["hi"]


async def test_runs_on_one_session_are_serialised(server: Server) -> None:
    server.llm.script(Text("first answer", delay=0.3), Text("second answer"))
    client = server.client()
    headers = {HEADER: "serial"}

    async def ask(text: str) -> str | None:
        completion = await client.chat.completions.create(
            model="hermes-agent", messages=[{"role": "user", "content": text}], extra_headers=headers
        )
        return completion.choices[0].message.content

    first = asyncio.create_task(ask("question one"))
    await server.llm.wait_for_requests(1)
    second = asyncio.create_task(ask("question two"))
    assert await asyncio.gather(first, second) == ["first answer", "second answer"]
    one, two = server.llm.chat_requests
    assert contents(one.messages, "user") == ["question one"]
    # The second run started after the first had finished and saw its whole exchange.
    assert contents(two.messages, "user") == ["question one", "question two"]
    assert contents(two.messages, "assistant") == ["first answer"]


async def test_different_sessions_run_at_the_same_time(server: Server) -> None:
    server.llm.script(Text("slow", delay=0.5), Text("fast"))
    client = server.client()

    async def ask(session: str) -> str | None:
        completion = await client.chat.completions.create(
            model="hermes-agent",
            messages=[{"role": "user", "content": f"hello from {session}"}],
            extra_headers={HEADER: session},
        )
        return completion.choices[0].message.content

    slow = asyncio.create_task(ask("alpha"))
    await server.llm.wait_for_requests(1)
    assert await asyncio.wait_for(ask("beta"), 0.4) == "fast"
    assert await slow == "slow"


async def test_invalid_session_ids_are_refused(server: Server, http: aiohttp.ClientSession) -> None:
    body = {"model": "hermes-agent", "messages": [{"role": "user", "content": "hi"}]}
    for bad in ("", "a" * 257, "has space", "semi;colon", 'quote"d', "new\u00e9"):
        async with http.post(
            f"{server.base_url}/chat/completions", json=body, headers=auth(**{HEADER: bad})
        ) as response:
            assert response.status == 400, bad
            error = (await response.json())["error"]
            assert error["param"] == HEADER
    assert server.llm.chat_requests == []


async def test_a_resent_history_continues_its_session_instead_of_copying_it(server: Server) -> None:
    server.llm.script(Text("Hello Ada."), Text("You are Ada."), Text("A branch."))
    client = server.client()
    opening = [{"role": "user", "content": "I am Ada."}]
    first = await client.chat.completions.with_raw_response.create(model="m", messages=opening)
    session_id = first.headers[HEADER]
    # As a chat UI does: no session id, the whole conversation again, with the new question.
    history = [*opening, {"role": "assistant", "content": "Hello Ada."}]
    second = await client.chat.completions.with_raw_response.create(
        model="m", messages=[*history, {"role": "user", "content": "Who am I?"}]
    )
    assert second.headers[HEADER] == session_id
    assert contents(server.llm.chat_requests[-1].messages, "user") == ["I am Ada.", "Who am I?"]
    stored = await server.store.sessions.current(f"api_server:session:{session_id}")
    assert stored is not None and stored.message_count == 4
    # An edited history is another conversation: its own session, seeded with it.
    edited = [{"role": "user", "content": "I am Bob."}, {"role": "assistant", "content": "Hello Ada."}]
    third = await client.chat.completions.with_raw_response.create(
        model="m", messages=[*edited, {"role": "user", "content": "Who am I?"}]
    )
    assert third.headers[HEADER] != session_id
    assert contents(server.llm.chat_requests[-1].messages, "user") == ["I am Bob.", "Who am I?"]


async def test_a_streamed_exchange_is_continued_too(server: Server) -> None:
    server.llm.script(Text("One."), Text("Two."))
    client = server.client()
    raw = await client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "first"}], stream=True
    )
    session_id = raw.headers[HEADER]
    answer = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    second = await client.chat.completions.with_raw_response.create(
        model="m",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "second"},
        ],
        stream=True,
    )
    assert second.headers[HEADER] == session_id
    [_ async for _ in second.parse()]
