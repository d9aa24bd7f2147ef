"""PostgreSQL access: one pool per service and forward-only SQL migrations."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
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

# A migration whose first line is this runs outside a transaction, for statements PostgreSQL
# refuses inside one (CREATE INDEX CONCURRENTLY). Such a file holds exactly one statement, and
# should be safe to run again (IF NOT EXISTS): a crash can leave it done but unrecorded.
NO_TRANSACTION = "-- tenderwire: no-transaction"


class MigrationError(RuntimeError):
    """The database and the migration files disagree: the service must not start."""


class MigrationsPendingError(MigrationError):
    """Migrations wait to be applied, and this process was told not to apply them."""


@dataclass(frozen=True)
class Migration:
    name: str  # package/file, as schema_migrations records it
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def in_transaction(self) -> bool:
        first_line = self.sql.lstrip().split("\n", 1)[0].strip()
        return first_line != NO_TRANSACTION


def migrations_in(*packages: str) -> list[Migration]:
    """Every migration of these packages, the shared messaging tables first, in order."""
    return [
        Migration(f"{package}/{file.name}", file.read_text(encoding="utf-8"))
        for package in (MESSAGING_MIGRATIONS, *packages)
        for file in _migration_files(package)
    ]


def _migration_files(package: str) -> list[Traversable]:
    folder = resources.files(package)
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


def changed_migrations(applied: dict[str, str | None], files: list[Migration]) -> list[str]:
    """The applied migrations whose file no longer reads as it did when it was applied."""
    return [
        f"{m.name} (applied as sha256 {applied[m.name]}, the file is now {m.checksum})"
        for m in files
        if applied.get(m.name) is not None and applied[m.name] != m.checksum
    ]


async def _applied(conn: Connection, files: list[Migration]) -> dict[str, str | None]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations")
    applied: dict[str, str | None] = {r["name"]: r["checksum"] for r in rows}
    # Applied before checksums were kept: the file as it reads now is taken as the original.
    for m in files:
        if m.name in applied and applied[m.name] is None:
            await conn.execute(
                "UPDATE schema_migrations SET checksum = $2 WHERE name = $1", m.name, m.checksum
            )
            applied[m.name] = m.checksum
    return applied


def _refuse_changed(applied: dict[str, str | None], files: list[Migration]) -> None:
    changed = changed_migrations(applied, files)
    if changed:
        raise MigrationError(
            "applied migrations were edited since: " + "; ".join(changed) + ". Migrations are"
            " forward-only: restore the file as it was and put the change in a new numbered file"
        )


async def migrate(pool: asyncpg.Pool, *packages: str) -> list[str]:
    """Apply the numbered `*.sql` files in each package that this database has not seen yet.

    The outbox and inbox tables every service needs come first, from this package. An applied
    file whose checksum changed stops everything with `MigrationError`, before anything runs.

    Each file runs in its own transaction together with its bookkeeping row, so a failed
    migration leaves nothing half-applied (a NO_TRANSACTION file runs alone, then is recorded).
    Replicas starting at once take turns on an advisory lock.
    """
    files = migrations_in(*packages)
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            applied = await _applied(conn, files)
            _refuse_changed(applied, files)
            for m in files:
                if m.name in applied:
                    continue
                record = "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)"
                if m.in_transaction:
                    async with conn.transaction():
                        await conn.execute(m.sql)
                        await conn.execute(record, m.name, m.checksum)
                else:
                    await conn.execute(m.sql)
                    await conn.execute(record, m.name, m.checksum)
                applied_now.append(m.name)
                log.info("migration_applied", migration=m.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now


async def check_migrated(pool: asyncpg.Pool, *packages: str) -> None:
    """For a service told not to migrate: start only on a database `tw migrate` brought up to
    date with these very files; otherwise `MigrationError` says what is missing or changed."""
    files = migrations_in(*packages)
    async with pool.acquire() as conn:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        # to_jsonb: a database migrated before checksums were kept has no checksum column.
        read = "SELECT name, to_jsonb(m) ->> 'checksum' AS checksum FROM schema_migrations m"
        rows = await conn.fetch(read) if exists else []
    applied: dict[str, str | None] = {r["name"]: r["checksum"] for r in rows}
    _refuse_changed(applied, files)
    pending = [m.name for m in files if m.name not in applied]
    if pending:
        raise MigrationsPendingError(
            f"the database lacks {len(pending)} migration(s) ({', '.join(pending)}) and this"
            " service is told not to migrate (TW_MIGRATE_ON_START=false): run `tw migrate` first"
        )


async def prepare_database(pool: asyncpg.Pool, *packages: str, migrate_on_start: bool) -> None:
    """What a service does with its database at start-up: migrate it, or check it is migrated."""
    if migrate_on_start:
        await migrate(pool, *packages)
    else:
        await check_migrated(pool, *packages)
