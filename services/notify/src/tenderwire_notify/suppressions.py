"""Addresses that must get no more mail: hard bounces now, unsubscribes later."""

from __future__ import annotations

import asyncpg


async def add(pool: asyncpg.Pool, channel: str, address: str, reason: str) -> None:
    await pool.execute(
        "INSERT INTO suppressions (channel, address, reason) VALUES ($1, lower($2), $3)"
        " ON CONFLICT DO NOTHING",
        channel,
        address,
        reason,
    )


async def blocks(pool: asyncpg.Pool, channel: str, address: str) -> bool:
    found = await pool.fetchval(
        "SELECT true FROM suppressions WHERE channel = $1 AND address = lower($2)",
        channel,
        address,
    )
    return bool(found)
