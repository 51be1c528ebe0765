"""What the replica tests share: waiting until the shared inbox is answered, and a replica's status."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from tests.harness.gateway import HERMES


async def inbox_settled(url: str, timeout: float = 20.0) -> None:
    """Until the shared inbox at `url` holds nothing unanswered."""
    async with asyncio.timeout(timeout):
        while True:
            async with await psycopg.AsyncConnection.connect(url) as conn:
                cursor = await conn.execute("SELECT count(*) FROM inbox WHERE status = 'pending'")
                row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.1)


def replication_status(home: Path) -> dict[str, Any]:
    """`hermes gateway status --json` of the replica at `home`: its replication part."""
    env = {**os.environ, "HERMES_HOME": str(home)}
    done = subprocess.run(
        [HERMES, "gateway", "status", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    replication: dict[str, Any] = json.loads(done.stdout)["replication"]
    return replication
