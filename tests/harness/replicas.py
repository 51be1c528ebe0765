"""What the replica tests share: waiting until every replica's shared inbox is answered."""

from __future__ import annotations

import asyncio

import psycopg


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
