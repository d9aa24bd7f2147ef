"""PostgreSQL access: one pool per service and forward-only SQL migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

log = structlog.get_logger()

# What `pool.acquire()` hands out and what `asyncpg.connect()` returns: either runs queries.
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

# Any constant works as long as every service uses its own database; it only serialises
# migrations when several replicas of one service start at once.
_MIGRATION_LOCK = 0x7457_6D69


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """One use case's transaction: everything written through `conn` commits together, or,
    if the block raises, nothing does. Use cases already inside a transaction (an inbox's)
    take that connection instead and open none."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


MESSAGING_MIGRATIONS = "tenderwire_shared.migrations"


def _migration_files(package: str) -> list[Traversable]:
    folder = resources.files(package)
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


async def migrate(pool: asyncpg.Pool, *packages: str) -> list[str]:
    """Apply the numbered `*.sql` files in each package that this database has not seen yet.

    The outbox and inbox tables every service needs come first, from this package.

    Each file runs in its own transaction together with its bookkeeping row, so a failed
    migration leaves nothing half-applied.
    """
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for package in (MESSAGING_MIGRATIONS, *packages):
                for file in _migration_files(package):
                    name = f"{package}/{file.name}"
                    if name in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(file.read_text(encoding="utf-8"))
                        await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                    applied_now.append(name)
                    log.info("migration_applied", migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now
