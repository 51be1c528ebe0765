"""What the API server asks of the rest of the gateway besides agent runs: the skills and tools it would
offer, the daemon's health, and the state store. The gateway implements it (`gateway/api_backend.py`), so
the API server never sees the agent."""

from __future__ import annotations

from typing import Any, Protocol

from hermes.store import Store


class JobsPort(Protocol):
    """The scheduler's jobs as job objects; ValueError for a bad field, LookupError for an unknown job."""

    async def all(self, include_disabled: bool) -> list[dict[str, Any]]: ...

    async def get(self, job_id: str) -> dict[str, Any]: ...

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]: ...

    async def update(self, job_id: str, fields: dict[str, Any]) -> dict[str, Any]: ...

    async def delete(self, job_id: str) -> None: ...

    async def pause(self, job_id: str) -> dict[str, Any]: ...

    async def resume(self, job_id: str) -> dict[str, Any]: ...

    async def run_now(self, job_id: str) -> dict[str, Any]: ...


class ApiBackend(Protocol):
    @property
    def store(self) -> Store: ...

    @property
    def jobs(self) -> JobsPort: ...

    def skills(self) -> list[dict[str, Any]]:
        """`{name, description, category}` of the installed skills, by category then name."""

    def toolsets(self, platform: str) -> list[dict[str, Any]]:
        """`{name, label, description, enabled, configured, tools}` of every tool family."""

    async def readiness(self) -> dict[str, Any]:
        """`/health/detailed`'s body, without the server's own fields."""

    def answer_approval(self, question_id: str, approve: bool) -> bool:
        """Answer the gateway's approval question `question_id`; False when it no longer waits."""

    def waiting_approvals(self) -> set[str]:
        """The ids of the gateway's approval questions still waiting for an answer."""
