"""The Matrix crypto store on the real PostgreSQL: shared by replicas, kept in a schema of its own, owned by
one account and device, moved over from a single-host store, and reset into a backup schema."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from mautrix.crypto import InboundGroupSession, OlmAccount, OutboundGroupSession
from mautrix.types import IdentityKey, Membership, RoomID, SigningKey, UserID
from typer.testing import CliRunner

from hermes.platforms.matrix.cli import app
from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import SCHEMA, SECRET_TABLE, StoreLocation
from hermes.platforms.matrix.crypto.store import CryptoStores, open_stores
from hermes.platforms.matrix.crypto.store_files import StoreLock, StorePaths
from hermes.store import Store
from hermes.store.leases import LeaseFence
from tests.harness.gateway import write_home
from tests.harness.postgres_server import PostgresServer
from tests.harness.synapse_server import free_port

BOT = "@bot:example.org"
ROOM = RoomID("!room:example.org")


@pytest.fixture
def url(postgres: PostgresServer) -> Iterator[str]:
    database = postgres.create_database()
    yield database
    postgres.drop_database(database)


def on_postgres(home: Path, url: str) -> StoreLocation:
    return StoreLocation(StorePaths.under(home / "platforms" / "matrix"), url, pool_size=2)


@pytest.fixture
async def opened() -> AsyncIterator[list[CryptoStores]]:
    """Stores a test opened, closed after it whatever happens."""
    stores: list[CryptoStores] = []
    yield stores
    for store in stores:
        await store.close()


async def with_account(
    opened: list[CryptoStores], location: StoreLocation, device: str = "DEV1"
) -> tuple[CryptoStores, OlmAccount]:
    stores = await open_stores(location, BOT, device)
    opened.append(stores)
    account = OlmAccount()
    await stores.crypto_store.put_account(account)
    return stores, account


async def close(opened: list[CryptoStores], stores: CryptoStores) -> None:
    opened.remove(stores)
    await stores.close()


async def fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def test_two_replicas_open_the_same_identity_from_the_database(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    first, account = await with_account(opened, on_postgres(tmp_path / "host-a", url))
    outbound = OutboundGroupSession(ROOM)
    await first.crypto_store.add_outbound_group_session(outbound)
    await close(opened, first)

    # Another host's home: nothing of the store is on its disk.
    second = await open_stores(on_postgres(tmp_path / "host-b", url), BOT, "DEV1")
    opened.append(second)
    loaded = await second.crypto_store.get_account()
    reloaded = await second.crypto_store.get_outbound_group_session(ROOM)

    assert loaded is not None and loaded.identity_keys == account.identity_keys
    assert reloaded is not None and reloaded.id == outbound.id
    assert not (tmp_path / "host-a" / "platforms" / "matrix" / "store").exists()
    schemas = {row["schemaname"] for row in await fetch(url, "SELECT schemaname FROM pg_tables")}
    assert SCHEMA in schemas
    mautrix_tables = await fetch(
        url, "SELECT schemaname FROM pg_tables WHERE tablename IN ('crypto_account', 'mx_room_state')"
    )
    assert {row["schemaname"] for row in mautrix_tables} == {SCHEMA}
    # Hermes's own store opens beside it: its checks see only its schema.
    async with await Store.open(url):
        pass


async def test_a_store_of_another_device_is_refused_on_postgres_and_kept(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    location = on_postgres(tmp_path / "home", url)
    first, account = await with_account(opened, location)
    await close(opened, first)

    with pytest.raises(CryptoRefused) as other_device:
        await open_stores(location, BOT, "DEV2")
    with pytest.raises(CryptoRefused) as other_user:
        await open_stores(location, "@someone:example.org", "DEV1")

    assert str(other_device.value).startswith(
        f"the crypto store in schema {SCHEMA} of the PostgreSQL store belongs to device DEV1 of {BOT}, "
        "but the access token is for device DEV2"
    )
    assert "hermes matrix reset-crypto" in str(other_device.value)
    assert f"belongs to {BOT}, not @someone:example.org" in str(other_user.value)
    assert "HERMES_DATABASE_URL" in str(other_user.value)
    rows = await fetch(url, f"SELECT account_id, device_id FROM {SCHEMA}.crypto_account")
    assert [(r["account_id"], r["device_id"]) for r in rows] == [(BOT, "DEV1")]
    again = await open_stores(location, BOT, "DEV1")
    opened.append(again)
    loaded = await again.crypto_store.get_account()
    assert loaded is not None and loaded.identity_keys == account.identity_keys


async def test_a_missing_secret_is_refused_never_replaced(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    location = on_postgres(tmp_path / "home", url)
    first, _ = await with_account(opened, location)
    await close(opened, first)
    await fetch(url, f"DELETE FROM {SCHEMA}.{SECRET_TABLE} RETURNING id")

    with pytest.raises(CryptoRefused, match=rf"{SCHEMA}\.{SECRET_TABLE} is missing.*restore that table"):
        await open_stores(location, BOT, "DEV1")

    assert await fetch(url, f"SELECT id FROM {SCHEMA}.{SECRET_TABLE}") == []
    await fetch(url, f"INSERT INTO {SCHEMA}.{SECRET_TABLE} (id, secret) VALUES (1, 'short') RETURNING id")
    with pytest.raises(CryptoRefused, match="holds 5 bytes instead of 32: restore it from a backup"):
        await open_stores(location, BOT, "DEV1")
    rows = await fetch(url, f"SELECT account_id FROM {SCHEMA}.crypto_account")
    assert [row["account_id"] for row in rows] == [BOT]


async def test_an_unreachable_database_is_a_connection_error_the_gateway_retries(tmp_path: Path) -> None:
    unreachable = f"postgresql://hermes@127.0.0.1:{free_port()}/hermes"
    with pytest.raises(ConnectionError, match="cannot connect to the PostgreSQL store for the crypto store"):
        await open_stores(on_postgres(tmp_path / "home", unreachable), BOT, "DEV1")
    assert not (tmp_path / "home").exists()


async def test_a_single_host_store_moves_into_the_database_at_the_first_start_there(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    home = tmp_path / "home"
    files = StoreLocation(StorePaths.under(home / "platforms" / "matrix"))
    single, account = await with_account(opened, files)
    outbound = OutboundGroupSession(ROOM)
    await single.crypto_store.add_outbound_group_session(outbound)
    inbound = InboundGroupSession(
        outbound.session_key, SigningKey(account.signing_key), IdentityKey(account.identity_key), ROOM
    )
    await single.crypto_store.put_group_session(ROOM, IdentityKey(account.identity_key), inbound.id, inbound)
    await single.state_store.set_membership(ROOM, UserID(BOT), Membership.JOIN)
    await close(opened, single)

    moved = await open_stores(on_postgres(home, url), BOT, "DEV1")
    opened.append(moved)
    loaded = await moved.crypto_store.get_account()
    group = await moved.crypto_store.get_group_session(ROOM, inbound.id)
    members = await moved.state_store.get_members(ROOM)

    assert loaded is not None and loaded.identity_keys == account.identity_keys
    assert group is not None and group.id == inbound.id and group.received_at == inbound.received_at
    assert members == [BOT]
    assert not files.paths.db.exists()
    kept = [path for path in files.paths.directory.iterdir() if path.name.startswith("moved-to-postgresql-")]
    assert len(kept) == 1 and (kept[0] / "crypto.db").exists() and (kept[0] / "crypto.secret").exists()
    with sqlite3.connect(kept[0] / "crypto.db") as connection:
        assert connection.execute("SELECT account_id FROM crypto_account").fetchall() == [(BOT,)]
    connection.close()


async def test_a_single_host_store_of_another_device_is_not_moved(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    home = tmp_path / "home"
    files = StoreLocation(StorePaths.under(home / "platforms" / "matrix"))
    single, _ = await with_account(opened, files, device="OLD")
    await close(opened, single)

    fresh = await open_stores(on_postgres(home, url), BOT, "DEV1")
    opened.append(fresh)

    assert await fresh.crypto_store.get_account() is None
    assert files.paths.db.exists()


async def test_a_single_host_store_without_its_secret_is_not_moved_nor_locked(
    url: str, tmp_path: Path, opened: list[CryptoStores], caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    files = StoreLocation(StorePaths.under(home / "platforms" / "matrix"))
    single, _ = await with_account(opened, files)
    await close(opened, single)
    files.paths.secret.unlink()

    fresh = await open_stores(on_postgres(home, url), BOT, "DEV1")
    opened.append(fresh)

    assert await fresh.crypto_store.get_account() is None
    assert files.paths.db.exists()
    assert "not moving the crypto store" in caplog.text and "crypto.secret is missing" in caplog.text
    StoreLock.acquire(files.paths).release()


async def reset(home: Path, *args: str, answer: str | None = None) -> tuple[int, str]:
    """The command as a user runs it (in a thread: it runs its own event loop)."""
    env = {**os.environ, "HERMES_HOME": str(home)}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["reset-crypto", *args], input=answer, env=env)
    return result.exit_code, result.output


async def test_reset_crypto_on_postgres_renames_the_schema_and_waits_for_every_gateway(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    home = tmp_path / "home"
    write_home(home, config={}, env={"HERMES_DATABASE_URL": url})
    nothing = await reset(home, "--yes")
    stores, _ = await with_account(opened, on_postgres(home, url))
    await close(opened, stores)
    async with await Store.open(url) as store:
        token = await store.leases.acquire("platform:matrix", "host-a:123:abc", 60)
        assert token is not None
        busy = await reset(home, "--yes")
        await store.leases.drop(LeaseFence("platform:matrix", "host-a:123:abc", token))
    declined = await reset(home, answer="n\n")
    done = await reset(home, "--yes")
    fresh = await open_stores(on_postgres(home, url), BOT, "DEV2")
    opened.append(fresh)

    assert nothing == (0, f"No crypto store in schema {SCHEMA} of the PostgreSQL store: nothing to reset.\n")
    assert busy[0] == 1 and "host-a:123:abc" in busy[1] and "stop every gateway first" in busy[1]
    assert declined[0] == 1 and "Aborted" in declined[1]
    assert done[0] == 0, done[1]
    assert f"{BOT} (device DEV1)" in done[1]
    backups = [
        row["nspname"]
        for row in await fetch(
            url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'matrix_crypto_backup_%'"
        )
    ]
    assert len(backups) == 1 and f"Backed up to schema {backups[0]}" in done[1]
    kept = await fetch(url, f'SELECT account_id FROM "{backups[0]}".crypto_account')
    assert [row["account_id"] for row in kept] == [BOT]
    assert len(await fetch(url, f'SELECT secret FROM "{backups[0]}".{SECRET_TABLE}')) == 1
    assert await fresh.crypto_store.get_account() is None


async def test_status_on_postgres_reads_the_store_from_the_database(
    url: str, tmp_path: Path, opened: list[CryptoStores]
) -> None:
    home = tmp_path / "home"
    nobody = f"http://127.0.0.1:{free_port()}"
    write_home(
        home,
        config={},
        env={
            "HERMES_DATABASE_URL": url,
            "MATRIX_HOMESERVER": nobody,
            "MATRIX_ACCESS_TOKEN": "syt_unused",
            "MATRIX_E2EE_MODE": "optional",
        },
    )
    files = StoreLocation(StorePaths.under(home / "platforms" / "matrix"))
    single, account = await with_account(opened, files)
    await close(opened, single)

    async def status() -> str:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MATRIX_")}
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["status"], env={**env, "HERMES_HOME": str(home)}
        )
        assert result.exit_code == 0, result.output
        # The labels' column width depends on the longest label shown.
        return " ".join(result.output.split())

    before = await status()
    moved = await open_stores(on_postgres(home, url), BOT, "DEV1")
    opened.append(moved)
    after = await status()

    assert f"crypto store schema {SCHEMA} of the PostgreSQL store" in before
    assert f"store empty: {files.paths.db} is moved into it at the next start" in before
    assert f"account {BOT}, device DEV1" in after
    assert f"identity keys ed25519 {account.signing_key}, not published yet" in after
    assert "sessions 0 room keys, 0 Olm sessions" in after
    assert "in use no" in after
    assert f"homeserver cannot ask {nobody}" in after
