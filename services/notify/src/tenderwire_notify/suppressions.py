"""Addresses that must get nothing more: hard bounces and unsubscribes.

The promise: once an unsubscribe has answered, nothing more reaches the address. No send holds
a database connection, so the promise is kept in two steps instead of one long lock:
1. The suppression commits under the exclusive side of the claim gate
   (`repository.SUPPRESSION_GATE`). Every claim takes the shared side, so a claim either sees
   the suppression, or has made its rows 'sending' before the suppression commits.
2. The unsubscribe then waits until no alert or digest to that address is 'sending': those
   were claimed before it and are finishing now.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from tenderwire_notify import repository


async def add(pool: asyncpg.Pool, channel: str, address: str, reason: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", repository.SUPPRESSION_GATE)
        await conn.execute(
            "INSERT INTO suppressions (channel, address, reason) VALUES ($1, lower($2), $3)"
            " ON CONFLICT DO NOTHING",
            channel,
            address,
            reason,
        )


async def wait_for_sends_in_flight(
    pool: asyncpg.Pool, channel: str, address: str, *, timeout_s: float
) -> bool:
    """Wait until the sends claimed before a suppression have finished; False on timeout.

    The timeout only bites when a worker died holding a row; a dead worker sends nothing more,
    and its rows are claimed again later, and then suppressed."""
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while await repository.sends_in_flight(pool, channel, address):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    return True
