"""The portal's SQL: sessions (and, beside them, what the portal's use cases store)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from tenderwire_matching.repository import hash_token
from tenderwire_shared.db import Connection


async def start_session(
    conn: Connection | asyncpg.Pool, token: str, supplier_id: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO portal_sessions (token_hash, supplier_id, expires_at) VALUES ($1, $2, $3)",
        hash_token(token),
        supplier_id,
        expires_at,
    )


async def session(conn: Connection | asyncpg.Pool, token: str) -> asyncpg.Record | None:
    """The live session of this token with its supplier's language, or None (unknown, expired,
    or the supplier deactivated)."""
    return await conn.fetchrow(
        "SELECT p.supplier_id, s.language FROM portal_sessions p"
        " JOIN suppliers s ON s.id = p.supplier_id"
        " WHERE p.token_hash = $1 AND p.expires_at > now() AND s.active",
        hash_token(token),
    )


async def end_session(conn: Connection | asyncpg.Pool, token: str) -> None:
    await conn.execute("DELETE FROM portal_sessions WHERE token_hash = $1", hash_token(token))


async def end_sessions_of(conn: Connection | asyncpg.Pool, supplier_id: str) -> None:
    await conn.execute("DELETE FROM portal_sessions WHERE supplier_id = $1", supplier_id)
