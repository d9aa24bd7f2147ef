"""Addresses that must get nothing more: hard bounces and unsubscribes.

Sending and suppressing take the same per-address lock, so once an unsubscribe has
committed no send to that address can still be on its way: a send already in flight
finishes first, and the unsubscribe waits for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tenderwire_shared.db import Connection


async def _lock(conn: Connection, channel: str, address: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{channel}:{address.lower()}"
    )


async def add(pool: asyncpg.Pool, channel: str, address: str, reason: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, channel, address)
        await conn.execute(
            "INSERT INTO suppressions (channel, address, reason) VALUES ($1, lower($2), $3)"
            " ON CONFLICT DO NOTHING",
            channel,
            address,
            reason,
        )


async def blocks(conn: Connection | asyncpg.Pool, channel: str, address: str) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM suppressions WHERE channel = $1 AND address = lower($2)",
        channel,
        address,
    )
    return bool(found)


@asynccontextmanager
async def sending_to(pool: asyncpg.Pool, channel: str, address: str) -> AsyncIterator[bool]:
    """Hold the address's lock for a send; yields False when the address is suppressed."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, channel, address)
        yield not await blocks(conn, channel, address)
