"""The sync loop's cursor and backoff, and the sender's retries, against scripted homeserver answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from mautrix.errors import MatrixConnectionError, make_request_error

from hermes.platforms.base import ChatRef, Inbound
from hermes.platforms.matrix.rooms import ThreadBook
from hermes.platforms.matrix.sender import Sender, txn_id_for
from hermes.platforms.matrix.sync import SyncLoop
from tests.fakes.hub import FakeHub
from tests.unit.matrix.encryption_fakes import KnownRooms


def error(status: int, errcode: str, retry_after: float | None = None) -> Exception:
    exc = make_request_error(status, "{}", errcode, "scripted")
    exc.retry_after = retry_after  # type: ignore[attr-defined]
    return exc


class ScriptedHTTP:
    """Answers requests from a list of (check, answer) steps; an Exception answer is raised."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, Any, dict[str, str]]] = []
        self.filters: list[Any] = []
        self.exhausted = asyncio.Event()

    async def request(
        self,
        method: Any,
        path: str,
        content: Any = None,
        headers: Any = None,
        query_params: Any = None,
        **_: Any,
    ) -> Any:
        if path.endswith("/filter"):
            self.filters.append(content)
            return {"filter_id": str(len(self.filters))}
        self.calls.append((str(method), path, content, dict(query_params or {})))
        if not self.answers:
            self.exhausted.set()
            await asyncio.Event().wait()
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


BOT = "@bot:x"


def inbound(event_id: str) -> Inbound:
    return Inbound(event_id, ChatRef("matrix", "!r", "dm"), "@a:x", "a", "hi", True, 0.0)


def batches(mapping: dict[str, list[str]]) -> Callable[[dict[str, Any], str | None], Any]:
    async def read(sync: dict[str, Any], since: str | None) -> list[Inbound]:
        return [inbound(event_id) for event_id in mapping.get(sync["next_batch"], [])]

    return read


async def run_until_exhausted(loop: SyncLoop, http: ScriptedHTTP, since: str | None) -> asyncio.Task[None]:
    task = asyncio.create_task(loop.run(since))
    waiter = asyncio.create_task(http.exhausted.wait())
    await asyncio.wait({task, waiter}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_cursor_travels_with_the_last_event_of_each_batch() -> None:
    http = ScriptedHTTP([{"next_batch": "s2"}, {"next_batch": "s3"}])
    hub = FakeHub()
    loop = SyncLoop(http, hub, batches({"s2": ["$a", "$b", "$c"], "s3": []}), BOT, on_rejected=pytest.fail)
    task = await run_until_exhausted(loop, http, "s1")
    await stop(task)
    assert hub.received == [("$a", None), ("$b", None), ("$c", "s2")]
    # The empty batch still moves the cursor on.
    assert hub.cursors == ["s2", "s3"]
    assert [call[3].get("since") for call in http.calls[:2]] == ["s1", "s2"]
    # Catching up does not wait; once caught up the loop long-polls.
    assert http.calls[0][3]["timeout"] == "0" and http.calls[1][3]["timeout"] == "30000"
    # The filter is uploaded once and named by id afterwards.
    assert len(http.filters) == 1 and http.filters[0]["room"]["timeline"] == {"limit": 100}
    assert {call[3]["filter"] for call in http.calls} == {"1"}


async def test_a_replayed_batch_is_dropped_by_the_inbox_and_the_cursor_still_advances() -> None:
    http = ScriptedHTTP([{"next_batch": "s2"}])
    hub = FakeHub(known={"$a", "$b"})
    loop = SyncLoop(http, hub, batches({"s2": ["$a", "$b"]}), BOT, on_rejected=pytest.fail)
    await stop(await run_until_exhausted(loop, http, "s1"))
    assert hub.received == [("$a", None), ("$b", "s2")]
    assert hub.cursors == ["s2"]


async def test_the_first_sync_of_a_new_installation_only_sets_the_cursor() -> None:
    http = ScriptedHTTP([{"next_batch": "s1"}])
    hub = FakeHub()
    loop = SyncLoop(http, hub, batches({}), BOT, on_rejected=pytest.fail)
    await stop(await run_until_exhausted(loop, http, None))
    assert "since" not in http.calls[0][3] and http.calls[0][3]["timeout"] == "0"
    assert hub.cursors == ["s1"]


async def test_failures_back_off_from_one_to_sixty_seconds_and_reset_after_success() -> None:
    failures: list[Any] = [MatrixConnectionError("refused")] * 8
    http = ScriptedHTTP([*failures, {"next_batch": "s2"}, error(502, "M_UNKNOWN"), {"next_batch": "s3"}])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    hub = FakeHub()
    loop = SyncLoop(http, hub, batches({}), BOT, on_rejected=pytest.fail, sleep=sleep)
    await stop(await run_until_exhausted(loop, http, "s1"))
    assert slept == [1, 2, 4, 8, 16, 32, 60, 60, 1]
    assert hub.cursors == ["s2", "s3"]


async def test_a_failed_batch_is_fetched_again_from_the_same_cursor() -> None:
    http = ScriptedHTTP([{"next_batch": "s2"}, {"next_batch": "s2"}])
    attempts = 0

    async def flaky(sync: dict[str, Any], since: str | None) -> list[Inbound]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise MatrixConnectionError("members lookup failed")
        return [inbound("$a")]

    async def sleep(seconds: float) -> None:
        return None

    hub = FakeHub()
    loop = SyncLoop(http, hub, flaky, BOT, on_rejected=pytest.fail, sleep=sleep)
    await stop(await run_until_exhausted(loop, http, "s1"))
    assert [call[3]["since"] for call in http.calls[:2]] == ["s1", "s1"]
    assert hub.received == [("$a", "s2")]


async def test_rate_limited_sync_waits_as_asked() -> None:
    http = ScriptedHTTP([error(429, "M_LIMIT_EXCEEDED", retry_after=0.3), {"next_batch": "s2"}])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    loop = SyncLoop(http, FakeHub(), batches({}), BOT, on_rejected=pytest.fail, sleep=sleep)
    await stop(await run_until_exhausted(loop, http, "s1"))
    assert slept == [0.3]


@pytest.mark.parametrize("rejection", [error(401, "M_UNKNOWN_TOKEN"), error(401, "M_MISSING_TOKEN")])
async def test_a_rejected_token_ends_the_loop_and_reports_it(rejection: Exception) -> None:
    http = ScriptedHTTP([{"next_batch": "s2"}, rejection])
    rejected: list[BaseException] = []
    loop = SyncLoop(http, FakeHub(), batches({}), BOT, on_rejected=rejected.append)
    await asyncio.wait_for(loop.run("s1"), 5)
    assert rejected == [rejection]


async def test_a_sync_answer_without_next_batch_is_retried() -> None:
    http = ScriptedHTTP([{"rooms": {}}, {"next_batch": "s2"}])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    hub = FakeHub()
    loop = SyncLoop(http, hub, batches({}), BOT, on_rejected=pytest.fail, sleep=sleep)
    await stop(await run_until_exhausted(loop, http, "s1"))
    assert slept == [1] and hub.cursors == ["s2"]


# -- the sender -----------------------------------------------------------------------------------------


def make_sender(http: ScriptedHTTP, slept: list[float], max_wait: float = 300.0) -> Sender:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    threads = ThreadBook(http, "@bot:x")  # type: ignore[arg-type]
    return Sender(http, "@bot:x", threads, encryption=KnownRooms(), sleep=sleep, max_wait=max_wait)  # type: ignore[arg-type]


async def test_rate_limited_sends_wait_retry_after_and_keep_their_transaction_id() -> None:
    limited = error(429, "M_LIMIT_EXCEEDED", retry_after=1.5)
    http = ScriptedHTTP([limited, limited, {"event_id": "$sent"}])
    slept: list[float] = []
    sender = make_sender(http, slept)
    event_id = await sender.send_text(ChatRef("matrix", "!r", "group"), "hi", idempotency_key="$in:0")
    assert event_id == "$sent"
    assert slept == [1.5, 1.5]
    paths = {call[1] for call in http.calls}
    assert paths == {f"_matrix/client/v3/rooms/%21r/send/m.room.message/{txn_id_for('$in:0')}"}


async def test_transient_send_failures_are_retried_with_backoff() -> None:
    http = ScriptedHTTP([MatrixConnectionError("reset"), error(503, "M_UNKNOWN"), {"event_id": "$sent"}])
    slept: list[float] = []
    sender = make_sender(http, slept)
    assert await sender.send_text(ChatRef("matrix", "!r", "dm"), "hi", idempotency_key="k") == "$sent"
    assert slept == [1.0, 2.0]


async def test_refused_sends_are_not_retried() -> None:
    http = ScriptedHTTP([error(403, "M_FORBIDDEN"), {"event_id": "$never"}])
    slept: list[float] = []
    with pytest.raises(Exception, match="scripted"):
        await make_sender(http, slept).send_text(ChatRef("matrix", "!r", "dm"), "hi", idempotency_key="k")
    assert slept == [] and len(http.calls) == 1


async def test_a_send_gives_up_when_the_wait_would_exceed_its_budget() -> None:
    http = ScriptedHTTP([error(429, "M_LIMIT_EXCEEDED", retry_after=600.0)])
    slept: list[float] = []
    with pytest.raises(Exception, match="scripted"):
        await make_sender(http, slept, max_wait=60).send_text(
            ChatRef("matrix", "!r", "dm"), "hi", idempotency_key="k"
        )
    assert slept == []


async def test_thread_replies_point_at_the_newest_event_of_the_thread() -> None:
    http = ScriptedHTTP([{"event_id": "$r1"}, {"event_id": "$r2"}])
    sender = make_sender(http, [])
    sender.threads.saw("!r", "$root", "$followup")
    chat = ChatRef("matrix", "!r", "group", "$root")
    await sender.send_text(chat, "one", idempotency_key="a")
    await sender.send_text(chat, "two", idempotency_key="b")
    first, second = (call[2]["m.relates_to"] for call in http.calls)
    assert first["event_id"] == "$root" and first["m.in_reply_to"] == {"event_id": "$followup"}
    assert second["m.in_reply_to"] == {"event_id": "$r1"}
    assert sender.chat_of("$r2") == chat
    assert await sender.threads.bot_in_thread("!r", "$root")
