"""The private feed's SQL: each supplier's feed token (`supplier_feeds`) and its newest
matches with the tenders as matching last saw them."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

from tenderwire_shared.db import Connection

Db: TypeAlias = "Connection | asyncpg.Pool"


async def token_of(db: Db, supplier_id: str) -> str | None:
    token: str | None = await db.fetchval(
        "SELECT token FROM supplier_feeds WHERE supplier_id = $1", supplier_id
    )
    return token


async def put_token(db: Db, supplier_id: str, token: str) -> None:
    """The supplier's feed token, replacing (and so revoking) the one before."""
    await db.execute(
        "INSERT INTO supplier_feeds (supplier_id, token) VALUES ($1, $2)"
        " ON CONFLICT (supplier_id) DO UPDATE SET token = EXCLUDED.token, created_at = now()",
        supplier_id,
        token,
    )


async def drop_token(db: Db, supplier_id: str) -> None:
    await db.execute("DELETE FROM supplier_feeds WHERE supplier_id = $1", supplier_id)


async def owner(db: Db, token: str) -> asyncpg.Record | None:
    """The active supplier whose feed this token opens: id, language, time zone."""
    return await db.fetchrow(
        "SELECT s.id, s.language, s.timezone FROM supplier_feeds f"
        " JOIN suppliers s ON s.id = f.supplier_id WHERE f.token = $1 AND s.active",
        token,
    )


async def newest_matches(db: Db, supplier_id: str, limit: int) -> list[asyncpg.Record]:
    """The supplier's newest matches, each with its tender's latest snapshot."""
    return await db.fetch(
        "SELECT m.id, m.kind, m.revision, m.created_at, t.snapshot FROM matches m"
        " JOIN tenders t ON t.tender_id = m.tender_id"
        " WHERE m.supplier_id = $1 ORDER BY m.created_at DESC, m.id DESC LIMIT $2",
        supplier_id,
        limit,
    )
