"""Session titles: after a session's first exchange, the title model (`auxiliary.title_generation`) names
it in a few words, shown by `hermes sessions list`. Without a title model there are no titles: the
compatible system would spend a call of the main model on each session, which nobody asked for here.

The title is written in the background once the reply is out, so it never delays an answer; a failure is
one log line and the session stays untitled (it is asked for again when the session is next loaded).
"""

from __future__ import annotations

import asyncio
import logging
import re

from hermes.agent.auxiliary import AuxiliaryModel
from hermes.agent.messages import Message, SystemPrompt
from hermes.agent.providers.base import ProviderError, ProviderRequest, TextChunk
from hermes.agent.providers.retry import RetryPolicy, stream_with_retries
from hermes.store.sessions import Sessions

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 80
_SNIPPET_CHARS = 500
_MAX_TOKENS = 64
_INSTRUCTIONS = (
    "Write a short, descriptive title (3 to 7 words) for a conversation that starts with the exchange the "
    "user gives you, in the language the user writes in. Answer with the title only: no quotes, no prefix, "
    "no punctuation at the end."
)
_THINKING = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_PREFIX = re.compile(r"^(title|titre|titel|título)\s*:\s*", re.IGNORECASE)


def clean_title(raw: str) -> str | None:
    """The first line of the model's answer, without reasoning, decoration or final punctuation."""
    text = _THINKING.sub("", raw)
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = _PREFIX.sub("", line.strip("#*_ \t")).strip().strip("\"'`“”‘’«»").strip()
    line = line.rstrip(".!?:;,。").strip()
    if not line:
        return None
    if len(line) > MAX_TITLE_CHARS:
        cut = line[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
        line = (cut or line[:MAX_TITLE_CHARS]).rstrip() + "…"
    return line


class TitleWriter:
    def __init__(self, model: AuxiliaryModel, policy: RetryPolicy, sessions: Sessions) -> None:
        self._model = model
        self._policy = policy
        self._sessions = sessions
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, session_id: str, question: str, answer: str, run_model: str) -> None:
        task = asyncio.create_task(self._write(session_id, question, answer, run_model))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Until every title asked for so far is written (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def title_for(self, question: str, answer: str, run_model: str) -> str | None:
        exchange = f"User: {question[:_SNIPPET_CHARS]}\n\nAssistant: {answer[:_SNIPPET_CHARS]}"
        request = ProviderRequest(
            model=self._model.model or run_model,
            system=SystemPrompt(_INSTRUCTIONS),
            messages=[Message("user", exchange)],
            max_tokens=_MAX_TOKENS,
        )
        parts = [
            event.text
            async for event in stream_with_retries(self._model.provider, request, self._policy)
            if isinstance(event, TextChunk)
        ]
        return clean_title("".join(parts))

    async def _write(self, session_id: str, question: str, answer: str, run_model: str) -> None:
        try:
            title = await self.title_for(question, answer, run_model)
            if title is not None:
                await self._sessions.set_title(session_id, title)
        except ProviderError as error:
            log.warning("could not title session %s: %s", session_id, error.message)
        except Exception:
            log.exception("could not title session %s", session_id)
