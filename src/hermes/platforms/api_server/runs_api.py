"""`/v1/runs` (API-CONTRACT §9): start a run (202), poll it, follow its events as SSE, answer its tool
approvals, stop it.

Beyond the reference: any number of clients may follow one run, and each event has an SSE `id`, so a client
that reconnects with `Last-Event-ID` gets what it missed from the run's (bounded) buffer. A stop that lands
after the answer is ready does not throw the answer away. A run's approvals are the same ones the chat
platforms use: the tool's question reaches the run's followers as `approval.request`, and
`POST …/approval` answers it. A client key sees only its own runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hermes.agent.contract import Failed, Final, Origin, RunRequest, TextDelta, ToolFinished, ToolStarted
from hermes.platforms.api_server.admission import Admission
from hermes.platforms.api_server.auth import caller_of
from hermes.platforms.api_server.backend import ApiBackend
from hermes.platforms.api_server.body import read_object
from hermes.platforms.api_server.endpoints import Endpoint, json_response
from hermes.platforms.api_server.errors import ApiError, bad_request
from hermes.platforms.api_server.inputs import parse_history, parse_input
from hermes.platforms.api_server.models import ModelCatalog
from hermes.platforms.api_server.ownership import claim
from hermes.platforms.api_server.runs import Run, RunRegistry
from hermes.platforms.api_server.session_headers import (
    PLATFORM,
    SESSION_KEY_HEADER,
    SESSION_KEY_PREFIX,
    memory_scope,
    session_id_from,
    session_key_from,
)
from hermes.platforms.api_server.session_store import ApiSessions

if TYPE_CHECKING:
    from hermes.platforms.api_server.responses import Chain, ResponsesApi
from hermes.platforms.api_server.sse import EventStream
from hermes.platforms.base import HubPort

log = logging.getLogger(__name__)

_CHOICES = {
    "once": "once",
    "approve": "once",
    "approved": "once",
    "allow": "once",
    "yes": "once",
    "session": "session",
    "always": "session",
    "deny": "deny",
    "denied": "deny",
    "no": "deny",
    "reject": "deny",
}
_PREVIEW_CHARS = 120
_TRUE = {"1", "true", "yes", "on"}


def run_not_found(run_id: str) -> ApiError:
    return ApiError(404, f"Run not found: {run_id[:100]}", code="run_not_found")


def bool_like(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in _TRUE


class RunsApi:
    def __init__(
        self,
        hub: HubPort,
        backend: ApiBackend,
        registry: RunRegistry,
        admission: Admission,
        models: ModelCatalog,
        keepalive_seconds: float,
        owners: ApiSessions,
        previous: ResponsesApi | None = None,
    ) -> None:
        self.owners = owners
        self.hub = hub
        self.backend = backend
        self.registry = registry
        self.admission = admission
        self.models = models
        self.keepalive_seconds = keepalive_seconds
        # The Responses API, for `previous_response_id` (None: not served).
        self.previous = previous

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("runs", "POST", "/v1/runs", self.start),
            Endpoint("run_status", "GET", "/v1/runs/{run_id}", self.status),
            Endpoint("run_events", "GET", "/v1/runs/{run_id}/events", self.events),
            Endpoint("run_approval", "POST", "/v1/runs/{run_id}/approval", self.approval),
            Endpoint("run_stop", "POST", "/v1/runs/{run_id}/stop", self.stop),
        ]

    def features(self) -> dict[str, Any]:
        return {
            "run_submission": True,
            "run_status": True,
            "run_events_sse": True,
            "run_stop": True,
            "run_approval_response": True,
            "approval_events": True,
        }

    # -- POST /v1/runs --------------------------------------------------------------------------------

    async def start(self, request: web.Request) -> web.Response:
        session_key = session_key_from(request.headers.get(SESSION_KEY_HEADER))
        self.admission.check()
        body = await read_object(request)
        turn = parse_input(body.get("input"))
        history = turn.conversation
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise bad_request("`instructions` must be a string.", "instructions")
        session_id = session_id_from(body.get("session_id"), "session_id")
        previous_id = body.get("previous_response_id")
        if previous_id is not None:
            previous = await self._previous(previous_id, caller_of(request).owner_filter("POST"))
            session_id = session_id or previous.session_id
            history = previous.seed or history
            instructions = instructions if instructions is not None else previous.instructions
        if body.get("conversation_history") is not None:
            history = tuple(m for m in parse_history(body["conversation_history"]) if m.role != "system")
        run_id = f"run_{os.urandom(16).hex()}"
        caller = caller_of(request)
        await claim(self.owners, caller, session_id or run_id)
        model = body.get("model", self.models.name)
        # Taken here, not in the task: a run over the cap is refused with a 429, never left queued. Nothing
        # below can fail before the task (which releases it) exists.
        self.admission.acquire()
        run = self.registry.add(run_id, caller.name, session_id or run_id, model)
        scope = memory_scope(caller, session_key)
        # Where the run's approval questions go: the run itself (see `deliver_question`).
        origin = Origin(PLATFORM, run_id, "dm", user_id=caller.name)
        run_request = RunRequest(
            session_key=SESSION_KEY_PREFIX + run.session_id,
            text=turn.text,
            platform=PLATFORM,
            chat_kind="api",
            user_id=PLATFORM,
            images=turn.images,
            model_override=self.models.routed_model(model),
            seed=history,
            extra_system="\n\n".join(p for p in (turn.system_text, instructions) if p) or None,
            origin=origin,
            memory_scope=scope,
        )
        run.task = asyncio.create_task(self._execute(run, run_request), name=f"api-run-{run_id}")
        headers = {SESSION_KEY_HEADER: session_key} if session_key is not None else None
        return json_response({"run_id": run_id, "status": "started"}, 202, headers)

    async def _previous(self, previous_id: Any, owner: str | None) -> Chain:
        found = None
        if self.previous is not None and isinstance(previous_id, str):
            found = await self.previous.get_for(previous_id, owner)
        if found is None:
            raise ApiError(
                404, f"Previous response not found: {str(previous_id)[:100]}", param="previous_response_id"
            )
        return found

    async def _execute(self, run: Run, request: RunRequest) -> None:
        tools: dict[str, float] = {}
        end: Final | Failed | None = None
        try:
            run.set_status("running")
            try:
                async with aclosing(self.hub.run_request(request, run.cancel)) as events:
                    async for event in events:
                        if run.status == "waiting_for_approval" and isinstance(
                            event, ToolFinished | TextDelta
                        ):
                            # Questions that timed out (a no) wait no more; with none left the run is
                            # running again (the reference stays "waiting", §17.23).
                            waiting = self.backend.waiting_approvals()
                            run.pending_questions = [q for q in run.pending_questions if q in waiting]
                            if not run.pending_questions:
                                run.set_status("running")
                        if isinstance(event, TextDelta):
                            run.emit("message.delta", delta=event.text)
                        elif isinstance(event, ToolStarted):
                            tools[event.call_id] = time.monotonic()
                            run.emit("tool.started", tool=event.name, preview=_preview(event.arguments))
                        elif isinstance(event, ToolFinished):
                            started = tools.pop(event.call_id, time.monotonic())
                            duration = round(time.monotonic() - started, 3)
                            run.emit("tool.completed", tool=event.name, duration=duration, error=not event.ok)
                        else:
                            end = event
            except Exception:
                log.exception("api_server: run %s failed", run.id)
                end = Failed("Something went wrong in the server; the error was logged.")
        finally:
            self.admission.release()
        if isinstance(end, Final):
            # Even after a stop request: an answer that is ready is not thrown away.
            run.output = end.text
            run.usage = _usage(end)
            run.emit("run.completed", output=end.text, usage=run.usage)
            run.set_status("completed")
        elif run.stop_requested or (end is not None and end.cancelled):
            run.emit("run.cancelled")
            run.set_status("cancelled")
        else:
            run.error = end.message if end is not None else "The run ended without an answer."
            run.emit("run.failed", error=run.error)
            run.set_status("failed")

    # -- GET /v1/runs/{id} and its events ------------------------------------------------------------------

    def _run(self, request: web.Request) -> Run:
        run_id = request.match_info["run_id"]
        run = self.registry.get(run_id)
        if run is None or not caller_of(request).sees(run.owner, request.method):
            raise run_not_found(run_id)
        return run

    async def status(self, request: web.Request) -> web.Response:
        return json_response(self._run(request).body())

    async def events(self, request: web.Request) -> web.StreamResponse:
        run = self._run(request)
        after = _last_event_id(request)
        stream = EventStream(request, {}, b"", self.keepalive_seconds)
        try:
            while True:
                events, missed = run.since(after)
                chunk = b""
                if missed:
                    chunk += f": {missed} earlier event(s) are no longer kept\n\n".encode()
                for event in events:
                    chunk += f"id: {event.seq}\ndata: {json.dumps(event.data)}\n\n".encode()
                    after = event.seq
                if chunk:
                    await stream.write(chunk)
                if run.finished and not run.since(after)[0]:
                    await stream.finish(b": stream closed\n\n")
                    break
                await run.wait_change(self.keepalive_seconds)
        except ConnectionError:
            pass
        finally:
            stream.close()
        return stream.response

    # -- approvals and stop --------------------------------------------------------------------------

    def deliver_question(self, run_id: str, question_id: str, text: str) -> bool:
        """A tool of run `run_id` asks for approval (through the gateway's approvals): tell its followers,
        or answer at once when the client approved the rest of the run. False for no such live run."""
        run = self.registry.get(run_id)
        if run is None or run.finished:
            return False
        if run.approve_rest:
            # The question is registered before it is sent, so it can be answered right here.
            return self.backend.answer_approval(question_id, True)
        run.pending_questions.append(question_id)
        run.emit(
            "approval.request",
            id=question_id,
            command=_command_of(text),
            description=text,
            choices=["once", "session", "deny"],
        )
        run.set_status("waiting_for_approval")
        return True

    async def approval(self, request: web.Request) -> web.Response:
        run = self._run(request)
        body = await read_object(request)
        raw_choice = body.get("choice")
        choice = _CHOICES.get(raw_choice.strip().lower()) if isinstance(raw_choice, str) else None
        if choice is None:
            raise ApiError(
                400,
                "`choice` must be 'once', 'session', 'always' or 'deny'.",
                param="choice",
                code="invalid_approval_choice",
            )
        if run.finished:
            raise ApiError(
                409, "The run has finished; nothing is waiting for approval.", code="approval_not_active"
            )
        if not run.pending_questions:
            raise ApiError(409, "The run is not waiting for an approval.", code="approval_not_pending")
        answer_all = bool_like(body.get("all", body.get("resolve_all", False)))
        approve = choice != "deny"
        resolved = 0
        while run.pending_questions and (answer_all or resolved == 0):
            # A question that timed out meanwhile answers nothing; the next one is tried.
            if self.backend.answer_approval(run.pending_questions.pop(0), approve):
                resolved += 1
        if choice == "session":
            run.approve_rest = True
        caller = caller_of(request)
        log.info(
            "api_server: key %s answered %s to %d approval(s) of run %s",
            caller.name,
            choice,
            resolved,
            run.id,
        )
        run.emit("approval.responded", choice=choice, resolved=resolved)
        if not run.pending_questions and not run.finished:
            run.set_status("running")
        return json_response(
            {
                "object": "hermes.run.approval_response",
                "run_id": run.id,
                "choice": choice,
                "resolved": resolved,
            }
        )

    async def stop(self, request: web.Request) -> web.Response:
        run = self._run(request)
        if run.finished:
            raise run_not_found(run.id)
        run.stop_requested = True
        run.last_event = "run.stopping"
        run.set_status("stopping")
        run.cancel.set()
        log.info("api_server: key %s stopped run %s", caller_of(request).name, run.id)
        return json_response({"run_id": run.id, "status": "stopping"})

    async def close(self) -> None:
        """Stops every live run (the server is stopping)."""
        tasks = []
        for run in self.registry.live():
            run.cancel.set()
            if run.task is not None:
                tasks.append(run.task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _last_event_id(request: web.Request) -> int:
    value = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    try:
        return max(0, int(value))
    except ValueError:
        raise bad_request("`Last-Event-ID` must be the number of an event.", "Last-Event-ID") from None


def _usage(end: Final) -> dict[str, int]:
    usage = end.usage
    return {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def _preview(arguments: dict[str, Any]) -> str:
    """The tool's main argument, short: what a progress display shows."""
    for value in arguments.values():
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"
    return ""


def _command_of(question: str) -> str:
    """The fenced command of an approval question (its fence is as long as it must be not to close
    inside the command), else its first line."""
    lines = question.splitlines()
    for start, line in enumerate(lines):
        if len(line) >= 3 and set(line) == {"`"}:
            for end in range(start + 1, len(lines)):
                if lines[end] == line:
                    return "\n".join(lines[start + 1 : end])
    return question.strip().splitlines()[0] if question.strip() else ""
