"""A real PostgreSQL server for the tests, started from the machine's binaries in a temporary directory.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server runs as the
`postgres` system user that Debian's package creates. Settings trade durability for speed: a crashed test
server is thrown away anyway.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from hermes.store.postgres import connect_and_migrate
from tests.harness.synapse_server import free_port

_SUPERUSER = "hermes"
# Migrated once per test session; a test's database is a file copy of it, faster than migrating an empty one.
_TEMPLATE = "hermes_template"


# What a test could change besides rows: relations, columns, functions, triggers, constraints.
_SCHEMA = """
SELECT 'relation ' || relname || ' ' || relkind::text FROM pg_class
    WHERE relnamespace = current_schema()::regnamespace
UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' '
    || coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = current_schema()
UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'constraint ' || conname FROM pg_constraint
    WHERE connamespace = current_schema()::regnamespace
"""


def _tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return sorted(row[0] for row in rows)


@dataclass(frozen=True)
class _Schema:
    """A database as the migrations leave it: its schema, and the rows they wrote (schema_version's, and
    any a migration seeds), which emptying must keep."""

    shape: frozenset[str]
    seeded: dict[str, list[tuple[Any, ...]]]

    @classmethod
    def of(cls, conn: psycopg.Connection[Any], seeded: Iterable[str] | None = None) -> _Schema:
        shape = frozenset(row[0] for row in conn.execute(_SCHEMA).fetchall())
        if seeded is None:
            seeded = [table for table in _tables(conn) if conn.execute(f'SELECT 1 FROM "{table}"').fetchone()]
        rows = {table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall()) for table in seeded}
        return cls(shape, rows)


def binaries() -> Path:
    for candidate in ("pg_config",):
        found = shutil.which(candidate)
        if found:
            bindir = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True).stdout
            if (Path(bindir.strip()) / "initdb").exists():
                return Path(bindir.strip())
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise RuntimeError("PostgreSQL's initdb was not found; `make test` installs the postgresql package")
    return Path(versions[-1]).parent


def _role(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0]


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = binaries()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hermes-pg-"))
        self.data = self.root / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)
        # The current schema as `_SCHEMA` sees it, once the template holds it; emptied databases wait in
        # `_spare`.
        self._schema: _Schema | None = None
        self._spare: list[str] = []

    @property
    def admin_url(self) -> str:
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", _SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; its URL."""
        return self._create(f"hermes_test_{next(self._names)}")

    def fresh_database(self) -> str:
        """A database as the migrations leave it (no rows but theirs), for one test; hand it back with
        `release`."""
        if self._spare:
            return self._spare.pop()
        if self._schema is None:
            template = self._create(_TEMPLATE)
            connect_and_migrate(template).close()
            with psycopg.connect(template) as conn:
                self._schema = _Schema.of(conn)
        return self._create(f"hermes_test_{next(self._names)}", template=_TEMPLATE)

    def release(self, url: str) -> None:
        """Empty a database from `fresh_database` for the next test: several times faster than dropping it
        and copying another. One whose schema (or migration-written rows) a test changed, or that has
        `login_roles`, is dropped."""
        assert self._schema is not None
        self.terminate_connections(url)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            roles = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname LIKE %s", (f"{url.rsplit('/', 1)[1]}\\_%",)
            ).fetchone()
        with psycopg.connect(url, autocommit=True) as conn:
            reusable = roles is None and _Schema.of(conn, self._schema.seeded) == self._schema
            if reusable:
                emptied = ", ".join(f'"{t}"' for t in _tables(conn) if t not in self._schema.seeded)
                conn.execute(f"TRUNCATE {emptied} RESTART IDENTITY")
        if reusable:
            self._spare.append(url)
        else:
            self.drop_database(url)

    def drop_database(self, url: str) -> None:
        """Drop the database, and the roles `login_roles` made for it."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            roles = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY rolname LIKE '%%\\_owner'",
                (f"{name}\\_%",),
            ).fetchall()
            for (role,) in roles:
                conn.execute(f'DROP ROLE "{role}"')

    def terminate_connections(self, url: str) -> int:
        """`pg_terminate_backend` on every connection to that database; how many there were."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchall()
        return len(rows)

    def login_roles(self, url: str, *names: str) -> list[str]:
        """Login roles sharing the database at `url` as its owner (objects any of them creates belong to
        the owner role, so all can use them), as replicas on hosts of their own would; their URLs.

        Roles are the server's, not the database's: `drop_database` drops them too."""
        database = url.rsplit("/", 1)[1]
        owner = f"{database}_owner"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{owner}" NOLOGIN')
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{owner}"')
            for name in names:
                role = f"{database}_{name}"
                conn.execute(f'CREATE ROLE "{role}" LOGIN IN ROLE "{owner}"')
                conn.execute(f'ALTER ROLE "{role}" SET role = "{owner}"')
        return [f"postgresql://{database}_{name}@127.0.0.1:{self.port}/{database}" for name in names]

    def cut_off(self, url: str) -> int:
        """The role of `url` may no longer connect, and `pg_terminate_backend` ends every connection it
        has: the host lost the database. How many connections there were."""
        role = _role(url)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
            ).fetchall()
        return len(rows)

    def reconnect(self, url: str) -> None:
        """Undo `cut_off`."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{_role(url)}" CONNECTION LIMIT -1')

    def _create(self, name: str, template: str | None = None) -> str:
        statement = f'CREATE DATABASE "{name}"'
        if template is not None:
            statement += f' TEMPLATE "{template}" STRATEGY FILE_COPY'
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)
        return self.url(name)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [*self._as, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
