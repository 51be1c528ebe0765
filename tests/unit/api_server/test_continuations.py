"""Which session a resent history continues (`continuations.py`)."""

from __future__ import annotations

from hermes.agent.contract import ChatMessage, ImageInput
from hermes.platforms.api_server.continuations import Continuations

ASK = ChatMessage("user", "hi")
ANSWER = ChatMessage("assistant", "hello")


def test_an_exchange_is_found_by_its_exact_history_and_caller() -> None:
    memory = Continuations()
    memory.remember("alice", [ChatMessage("system", "be brief"), ASK, ANSWER], "s1")
    # System messages do not count (a UI may change its system prompt between requests).
    assert memory.find("alice", [ASK, ANSWER]) == "s1"
    assert memory.find("bob", [ASK, ANSWER]) is None
    assert memory.find("alice", [ASK, ChatMessage("assistant", "hello!")]) is None
    assert memory.find("alice", []) is None
    image = ChatMessage("user", "hi", images=(ImageInput("image/png", b"1"),))
    assert memory.find("alice", [image, ANSWER]) is None


def test_only_the_latest_exchange_of_a_session_continues_it() -> None:
    memory = Continuations()
    memory.remember("a", [ASK, ANSWER], "s1")
    later = [ASK, ANSWER, ChatMessage("user", "more"), ChatMessage("assistant", "sure")]
    memory.remember("a", later, "s1")
    assert memory.find("a", [ASK, ANSWER]) is None
    assert memory.find("a", later) == "s1"
    # Continued by id: a resend of its old end is a new conversation.
    memory.forget("s1")
    assert memory.find("a", later) is None


def test_it_is_bounded() -> None:
    memory = Continuations(max_entries=2)
    for index in range(3):
        memory.remember("a", [ChatMessage("user", str(index)), ANSWER], f"s{index}")
    assert memory.find("a", [ChatMessage("user", "0"), ANSWER]) is None
    assert memory.find("a", [ChatMessage("user", "2"), ANSWER]) == "s2"
