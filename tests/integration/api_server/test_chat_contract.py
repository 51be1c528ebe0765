"""Chat completions against the rest of the contract: the third-party client's strict stream rules
(API-CONTRACT §6.6, §18.2-5), `X-Hermes-Session-Key` (§15) and `Idempotency-Key` (§6.5)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.fakes.llm import Call, Cut, Error, Text, ToolCalls

from .conftest import Server, auth
from .strict_stream import check_stream

URL = "/v1/chat/completions"
USER = [{"role": "user", "content": "hi"}]


async def post(
    http: aiohttp.ClientSession, server: Server, body: dict[str, Any], **headers: str
) -> tuple[int, bytes, aiohttp.ClientResponse]:
    async with http.post(f"{server.url}{URL}", json=body, headers=auth(**headers)) as response:
        return response.status, await response.read(), response


# -- §18: the third-party client's checklist ------------------------------------------------------------


async def test_checklist_2_a_stream_is_2xx_sse(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("hello"))
    status, _raw, response = await post(
        http, server, {"model": "hermes-agent", "messages": USER, "stream": True}
    )
    assert status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    async with http.post(
        f"{server.url}{URL}", json={"messages": USER, "stream": True}, headers=auth("wrong-key-000000000000")
    ) as refused:
        assert refused.status == 401


async def test_checklist_3_session_headers_are_accepted(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("hello"))
    status, raw, response = await post(
        http,
        server,
        {"messages": USER, "stream": True},
        **{"X-Hermes-Session-Id": "s-" + "a" * 250, "X-Hermes-Session-Key": "k" * 256},
    )
    assert status == 200
    assert check_stream(raw).terminal == "stop"
    assert response.headers["X-Hermes-Session-Key"] == "k" * 256


async def test_checklist_4_5_a_stream_with_tools_passes_the_strict_client(
    server: Server, http: aiohttp.ClientSession
) -> None:
    server.llm.script(ToolCalls([Call("todo", {"todos": []})]), Text("All done."))
    status, raw, _ = await post(http, server, {"messages": USER, "stream": True})
    assert status == 200
    outcome = check_stream(raw)
    assert outcome.text == "All done."
    assert outcome.terminal == "stop" and outcome.hermes is None and outcome.done
    assert outcome.usage is not None and outcome.usage["total_tokens"] > 0
    assert [p["status"] for p in outcome.progress] == ["running", "completed"]
    assert outcome.progress[0]["toolCallId"] == outcome.progress[1]["toolCallId"]


async def test_checklist_5_a_failure_mid_stream_is_an_error_terminal(
    server: Server, http: aiohttp.ClientSession
) -> None:
    server.llm.script(Cut(after=3, reply=Text("this answer breaks off half way through")))
    status, raw, _ = await post(http, server, {"messages": USER, "stream": True})
    assert status == 200
    outcome = check_stream(raw)
    assert outcome.terminal == "error"
    assert outcome.hermes is not None
    assert (outcome.hermes["completed"], outcome.hermes["failed"], outcome.hermes["partial"]) == (
        False,
        True,
        True,
    )


async def test_checklist_4_keepalives_keep_a_quiet_stream_alive(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server: Server = await start_server(keepalive_seconds=0.05)
    server.llm.script(Text("late", delay=0.3))
    _status, raw, _ = await post(http, server, {"messages": USER, "stream": True})
    outcome = check_stream(raw)
    assert outcome.keepalives >= 2 and outcome.text == "late"


@pytest.mark.one_engine("a constant, no store")
def test_the_default_keepalive_is_well_inside_the_clients_45_s() -> None:
    from hermes.platforms.api_server.platform import KEEPALIVE_SECONDS

    assert KEEPALIVE_SECONDS <= 30


async def test_a_failure_before_any_text_is_a_502_not_a_stream(
    server: Server, http: aiohttp.ClientSession
) -> None:
    server.llm.script(Error(500, "boom"))
    status, _, response = await post(http, server, {"messages": USER, "stream": True})
    # The client maps 5xx to a retryable error; we also tell OpenAI clients not to retry ours.
    assert status == 502 and response.headers["x-should-retry"] == "false"


# -- §15: X-Hermes-Session-Key ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["k" * 257, "a\tb"])
async def test_a_bad_session_key_is_a_400(server: Server, http: aiohttp.ClientSession, bad: str) -> None:
    status, raw, _ = await post(http, server, {"messages": USER}, **{"X-Hermes-Session-Key": bad})
    assert status == 400 and b"X-Hermes-Session-Key" in raw
    assert server.llm.chat_requests == []


async def test_a_blank_session_key_is_absent(server: Server, http: aiohttp.ClientSession) -> None:
    status, _, response = await post(http, server, {"messages": USER}, **{"X-Hermes-Session-Key": "  "})
    assert status == 200 and "X-Hermes-Session-Key" not in response.headers


# -- §6.5: Idempotency-Key ---------------------------------------------------------------------------------


async def test_a_retried_request_gets_the_first_answer(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("only once"), Text("a second run"))
    body = {"model": "hermes-agent", "messages": USER}
    first = await post(http, server, body, **{"Idempotency-Key": "k1"})
    again = await post(http, server, body, **{"Idempotency-Key": "k1"})
    assert first[0] == again[0] == 200
    assert first[1] == again[1]
    assert first[2].headers["X-Hermes-Session-Id"] == again[2].headers["X-Hermes-Session-Id"]
    assert len(server.llm.chat_requests) == 1


async def test_duplicates_in_flight_share_one_run(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("shared", delay=0.3), Text("never"))
    body = {"model": "hermes-agent", "messages": USER}
    results = await asyncio.gather(
        *(post(http, server, body, **{"Idempotency-Key": "same"}) for _ in range(3))
    )
    assert {raw for _, raw, _ in results} == {results[0][1]}
    assert len(server.llm.chat_requests) == 1


async def test_another_body_or_session_or_a_stream_runs_again(
    server: Server, http: aiohttp.ClientSession
) -> None:
    key = {"Idempotency-Key": "k2"}
    await post(http, server, {"messages": USER}, **key)
    await post(http, server, {"messages": [{"role": "user", "content": "other"}]}, **key)
    await post(http, server, {"messages": USER}, **key, **{"X-Hermes-Session-Id": "elsewhere"})
    await post(http, server, {"messages": USER, "stream": True}, **key)
    assert len(server.llm.chat_requests) == 4


async def test_a_failed_request_is_not_kept(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Error(400, "no"), Text("second try"))
    key = {"Idempotency-Key": "k3"}
    assert (await post(http, server, {"messages": USER}, **key))[0] == 502
    status, raw, _ = await post(http, server, {"messages": USER}, **key)
    assert status == 200 and b"second try" in raw


async def test_a_session_key_keeps_its_memory_apart(server: Server, http: aiohttp.ClientSession) -> None:
    from hermes.agent.memory import scope_directory

    remember = ToolCalls([Call("memory", {"action": "add", "target": "user", "content": "Likes green tea."})])
    server.llm.script(remember, Text("Noted."), Text("You like green tea."))
    key = {"X-Hermes-Session-Key": "ui-user-7"}
    status, _, _ = await post(
        http, server, {"messages": [{"role": "user", "content": "I like green tea."}]}, **key
    )
    assert status == 200
    scoped = server.home / "memories" / "users" / scope_directory("api_server:admin:ui-user-7") / "USER.md"
    assert "Likes green tea." in scoped.read_text()
    owner = server.home / "memories" / "USER.md"
    assert not owner.exists() or "green tea" not in owner.read_text()
    # Another conversation with the same session key sees it; one without does not.
    await post(http, server, {"messages": [{"role": "user", "content": "What do I like?"}]}, **key)
    assert "Likes green tea." in server.llm.chat_requests[-1].system
    await post(http, server, {"messages": [{"role": "user", "content": "What do I like?"}]})
    assert "Likes green tea." not in server.llm.chat_requests[-1].system
