"""The API server's own table (`api_sessions`: who opened which API session, titles, forks) on each
engine."""

from __future__ import annotations

from hermes.platforms.api_server.session_store import ApiSessions
from hermes.store import NewMessage, Store

from .conftest import FakeClock


async def test_api_sessions_ownership_titles_and_listing(store: Store, clock: FakeClock) -> None:
    owners = ApiSessions(store.db, clock=clock)
    assert await owners.claim("mine", "alice")
    assert await owners.claim("mine", "alice") and not await owners.claim("mine", "bob")
    assert await owners.claim("mine", "admin")
    clock.advance(1)
    # A transcript nobody claimed is the admin's.
    opened = await store.sessions.get_or_create("api_server:session:adm", platform="api_server", chat_id="c")
    await store.sessions.append(opened.id, [NewMessage("user", "hi")])
    assert not await owners.claim("adm", "alice")
    clock.advance(5)
    assert await owners.create("empty", "alice", "Empty one")
    assert not await owners.create("adm", "alice", None)
    await owners.set_title("adm", "admin", "Admin's")
    everyone = await owners.list(None, 10, 0)
    assert [s.session_id for s in everyone] == ["empty", "adm", "mine"]
    assert [s.session_id for s in await owners.list("alice", 10, 0)] == ["empty", "mine"]
    adm = await owners.get("adm")
    assert (
        adm is not None
        and adm.title == "Admin's"
        and adm.stored is not None
        and adm.stored.message_count == 1
    )
    assert await owners.delete("adm") and await owners.get("adm") is None
    assert await store.sessions.current("api_server:session:adm") is None
