"""`auxiliary:` in config.yaml: the title model names new sessions, and compression summaries come from the
compression role's model (or endpoint) when one is set, from the main model otherwise."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hermes.agent.contract import Final
from tests.fakes.llm import Error, FakeLLM, RecordedRequest, Text
from tests.integration.agent.conftest import KEY, MakeRig
from tests.integration.agent.test_compression import (
    SMALL_CONTEXT,
    is_summary_request,
    scripted_model,
    turn_text,
)

LITELLM_KEY = "sk-litellm-compression-0123456789"


def is_title_request(request: RecordedRequest) -> bool:
    return request.system.startswith("Write a short, descriptive title")


def titles_and_answers(request: RecordedRequest) -> Text:
    if is_title_request(request):
        return Text('"Planning A Trip To Lisbon."')
    return Text("Lisbon in May is lovely.")


def with_titles(**title_generation: Any) -> dict[str, Any]:
    return {"auxiliary": {"title_generation": title_generation}}


async def long_session(rig: Any) -> None:
    for i in range(8):
        events = await rig.run(turn_text(i))
        assert isinstance(events[-1], Final), events[-1]


async def test_a_new_session_is_titled_by_the_title_model(make_rig: MakeRig) -> None:
    rig = await make_rig(config=with_titles(model="small-model"))
    rig.llm.fallback = titles_and_answers
    events = await rig.run("I want to plan a trip to Lisbon in May")
    assert isinstance(events[-1], Final) and events[-1].text == "Lisbon in May is lovely."
    assert rig.agent.titles is not None
    await rig.agent.titles.idle()
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.title == "Planning A Trip To Lisbon"
    [asked] = [r for r in rig.llm.chat_requests if is_title_request(r)]
    assert asked.body["model"] == "small-model"
    assert "I want to plan a trip to Lisbon" in asked.messages[-1]["content"]
    # Titled once: later turns ask for nothing more, and the title is not "activity".
    await rig.run("what about June?")
    await rig.agent.titles.idle()
    assert sum(is_title_request(r) for r in rig.llm.chat_requests) == 1
    again = await rig.store.sessions.current(KEY)
    assert again is not None and again.title == "Planning A Trip To Lisbon"


async def test_without_a_title_model_no_title_is_asked_for(make_rig: MakeRig) -> None:
    rig = await make_rig(config=with_titles(enabled=True))
    rig.llm.fallback = titles_and_answers
    await rig.run("I want to plan a trip to Lisbon in May")
    assert rig.agent.titles is None
    assert len(rig.llm.chat_requests) == 1
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.title is None


async def test_a_title_model_on_its_own_endpoint(make_rig: MakeRig) -> None:
    async with FakeLLM() as small:
        small.fallback = titles_and_answers
        rig = await make_rig(config=with_titles(base_url=small.base_url, api_key=LITELLM_KEY, model="small"))
        rig.llm.fallback = titles_and_answers
        await rig.run("I want to plan a trip to Lisbon in May")
        assert rig.agent.titles is not None
        await rig.agent.titles.idle()
        [asked] = small.chat_requests
    assert is_title_request(asked) and asked.body["model"] == "small" and asked.api_key == LITELLM_KEY
    assert not any(is_title_request(r) for r in rig.llm.chat_requests)


async def test_a_failed_title_leaves_the_session_untitled_and_the_reply_whole(
    make_rig: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(config=with_titles(model="small-model"))

    def no_titles(request: RecordedRequest) -> Text | Error:
        if is_title_request(request):
            return Error(400, message="titles are broken today")
        return Text("an answer all the same")

    rig.llm.fallback = no_titles
    with caplog.at_level(logging.WARNING, logger="hermes.agent.titles"):
        events = await rig.run("hello")
        assert rig.agent.titles is not None
        await rig.agent.titles.idle()
    assert isinstance(events[-1], Final) and events[-1].text == "an answer all the same"
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.title is None
    assert len([r for r in caplog.records if r.name == "hermes.agent.titles"]) == 1


async def test_titles_can_be_turned_off(make_rig: MakeRig) -> None:
    rig = await make_rig(config=with_titles(model="small-model", enabled=False))
    await rig.run("hello")
    assert rig.agent.titles is None
    assert not any(is_title_request(r) for r in rig.llm.chat_requests)


async def test_compression_uses_its_roles_model(make_rig: MakeRig) -> None:
    rig = await make_rig(config={**SMALL_CONTEXT, "auxiliary": {"compression": {"model": "summary-model"}}})
    rig.llm.fallback = scripted_model
    await long_session(rig)
    summaries = [r for r in rig.llm.chat_requests if is_summary_request(r)]
    assert summaries and {r.body["model"] for r in summaries} == {"summary-model"}
    others = [r for r in rig.llm.chat_requests if not is_summary_request(r)]
    assert {r.body["model"] for r in others} == {"fake-model"}


async def test_compression_without_a_role_model_uses_the_main_model(make_rig: MakeRig) -> None:
    rig = await make_rig(config=SMALL_CONTEXT)
    rig.llm.fallback = scripted_model
    await long_session(rig)
    summaries = [r for r in rig.llm.chat_requests if is_summary_request(r)]
    assert summaries and {r.body["model"] for r in summaries} == {"fake-model"}


async def test_compression_goes_to_its_own_litellm_endpoint_with_its_key(make_rig: MakeRig) -> None:
    async with FakeLLM() as litellm:
        litellm.fallback = scripted_model
        slot = {
            "provider": "litellm",
            "base_url": litellm.base_url,
            "api_key": LITELLM_KEY,
            "model": "summary-model",
            "context_length": 4096,
        }
        rig = await make_rig(config={**SMALL_CONTEXT, "auxiliary": {"compression": slot}})
        rig.llm.fallback = scripted_model
        await long_session(rig)
        summaries = litellm.chat_requests
    assert summaries and all(is_summary_request(r) for r in summaries)
    assert {r.body["model"] for r in summaries} == {"summary-model"}
    assert {r.api_key for r in summaries} == {LITELLM_KEY}
    assert not any(is_summary_request(r) for r in rig.llm.chat_requests)
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.summary is not None


async def test_an_unusable_role_is_reported_once_and_the_main_model_does_the_work(
    make_rig: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hermes.agent.auxiliary"):
        rig = await make_rig(config={**SMALL_CONTEXT, "auxiliary": {"compression": {"provider": "nous"}}})
    [line] = [r.getMessage() for r in caplog.records if r.name == "hermes.agent.auxiliary"]
    assert "auxiliary.compression: unknown provider 'nous'" in line and "using the main model" in line
    rig.llm.fallback = scripted_model
    await long_session(rig)
    summaries = [r for r in rig.llm.chat_requests if is_summary_request(r)]
    assert summaries and {r.body["model"] for r in summaries} == {"fake-model"}
