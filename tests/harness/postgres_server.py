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
from pathlib import Path

import psycopg

from hermes.store.postgres import connect_and_migrate
from tests.harness.synapse_server import free_port

_SUPERUSER = "hermes"
# Migrated once per test session; each test's database is a file copy of it, much faster than migrating.
_TEMPLATE = "hermes_template"


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
        self._template_ready = False

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
        """A new database holding the current schema and no rows; its URL."""
        if not self._template_ready:
            connect_and_migrate(self._create(_TEMPLATE)).close()
            self._template_ready = True
        return self._create(f"hermes_test_{next(self._names)}", template=_TEMPLATE)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def terminate_connections(self, url: str) -> int:
        """`pg_terminate_backend` on every connection to that database; how many there were."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchall()
        return len(rows)

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
