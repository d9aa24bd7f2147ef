"""Migrations over real PostgreSQL: checksummed, forward-only, optionally outside a transaction,
and applied by `tw migrate` before services that are told not to migrate themselves."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from tenderwire_notices.bootstrap import create_app
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared.db import (
    MESSAGING_MIGRATIONS,
    MigrationError,
    MigrationsPendingError,
    check_migrated,
    create_pool,
    migrate,
    migrations_in,
)
from tenderwire_shared.envelope import new_event_id
from tests.support.platform import create_database
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration


class Package:
    """A migrations package of the test's own, on sys.path, whose files the test writes."""

    def __init__(self, root: Path) -> None:
        self.name = f"migrations_{new_event_id().replace('-', '')[-12:]}"
        self.folder = root / self.name
        self.folder.mkdir()
        (self.folder / "__init__.py").write_text("")

    def write(self, file: str, sql: str) -> None:
        (self.folder / file).write_text(sql, encoding="utf-8")
        importlib.invalidate_caches()


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Package]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield Package(tmp_path)
    finally:
        sys.path.remove(str(tmp_path))


@pytest_asyncio.fixture
async def dsn(postgres_dsn: str) -> str:
    return await create_database(postgres_dsn, "migrations")


@pytest_asyncio.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(dsn, max_size=2)
    yield created
    await created.close()


async def recorded(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT name, checksum FROM schema_migrations")
    return {r["name"]: r["checksum"] for r in rows}


async def test_applied_files_are_checksummed_and_an_edited_one_stops_everything(
    pool: asyncpg.Pool, package: Package
) -> None:
    first = "CREATE TABLE gowns (id int PRIMARY KEY);\n"
    package.write("001_gowns.sql", first)

    applied = await migrate(pool, package.name)
    assert applied[-1] == f"{package.name}/001_gowns.sql"
    assert applied[0].startswith(MESSAGING_MIGRATIONS)
    checksums = await recorded(pool)
    assert checksums[f"{package.name}/001_gowns.sql"] == hashlib.sha256(first.encode()).hexdigest()
    assert all(checksums.values())
    assert await migrate(pool, package.name) == []

    package.write("001_gowns.sql", "CREATE TABLE gowns (id int PRIMARY KEY, size text);\n")
    package.write("002_masks.sql", "CREATE TABLE masks (id int);\n")
    with pytest.raises(MigrationError, match=r"001_gowns\.sql .*forward-only"):
        await migrate(pool, package.name)
    with pytest.raises(MigrationError, match=r"001_gowns\.sql"):
        await check_migrated(pool, package.name)
    # Refused before anything ran: the new file was not applied either.
    assert await pool.fetchval("SELECT to_regclass('masks')") is None


async def test_a_no_transaction_migration_can_create_an_index_concurrently(
    pool: asyncpg.Pool, package: Package
) -> None:
    package.write("001_gowns.sql", "CREATE TABLE gowns (id int, size text);\n")
    package.write(
        "002_size_index.sql", "CREATE INDEX CONCURRENTLY gowns_by_size ON gowns (size);\n"
    )
    with pytest.raises(asyncpg.ActiveSQLTransactionError):
        await migrate(pool, package.name)
    assert f"{package.name}/002_size_index.sql" not in await recorded(pool)

    package.write(
        "002_size_index.sql",
        "-- tenderwire: no-transaction\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS gowns_by_size ON gowns (size);\n",
    )
    assert await migrate(pool, package.name) == [f"{package.name}/002_size_index.sql"]
    assert await pool.fetchval("SELECT to_regclass('gowns_by_size')") is not None


async def test_a_database_migrated_before_checksums_is_checked_from_then_on(
    pool: asyncpg.Pool, package: Package
) -> None:
    package.write("001_gowns.sql", "CREATE TABLE gowns (id int);\n")
    files = migrations_in(package.name)
    # As the first wave's migrate left a database: names only.
    await pool.execute(
        "CREATE TABLE schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for one in files:
        await pool.execute(one.sql)
        await pool.execute("INSERT INTO schema_migrations (name) VALUES ($1)", one.name)

    await check_migrated(pool, package.name)
    assert await migrate(pool, package.name) == []
    assert await recorded(pool) == {one.name: one.checksum for one in files}
    package.write("001_gowns.sql", "CREATE TABLE gowns (id bigint);\n")
    with pytest.raises(MigrationError, match="001_gowns"):
        await migrate(pool, package.name)


async def test_a_service_told_not_to_migrate_refuses_an_unmigrated_database(dsn: str) -> None:
    settings = NoticesSettings(database_url=dsn, migrate_on_start=False, environment="test")
    app = create_app(settings)
    with pytest.raises(MigrationsPendingError, match="tw migrate"):
        async with app.router.lifespan_context(app):
            pass
    pool = await create_pool(dsn, max_size=1)
    try:
        assert await pool.fetchval("SELECT to_regclass('notices')") is None
    finally:
        await pool.close()


async def test_tw_migrate_brings_each_database_up_to_date_and_check_says_so(
    postgres_dsn: str,
) -> None:
    notices = await create_database(postgres_dsn, "notices")
    matching = await create_database(postgres_dsn, "matching")
    env = {"TW_NOTICES_DATABASE_URL": notices, "TW_MATCHING_DATABASE_URL": matching}

    code, out, err = await run_tw("migrate", "--check", "--service", "notices", env=env)
    assert code == 3, (out, err)
    assert "tw migrate" in err

    args = ("migrate", "--service", "notices", "--service", "matching", "--json")
    code, out, err = await run_tw(*args, env=env)
    assert code == 0, (out, err)
    applied = json.loads(out)["applied"]
    assert any(name.endswith("001_notices.sql") for name in applied["notices"])
    assert any(name.endswith("001_matching.sql") for name in applied["matching"])

    code, out, err = await run_tw(*args, env=env)
    assert (code, json.loads(out)["applied"]) == (0, {"notices": [], "matching": []}), err
    code, out, err = await run_tw(
        "migrate", "--check", "--service", "notices", "--service", "matching", env=env
    )
    assert code == 0, (out, err)
    assert "notices: up to date" in out

    code, out, err = await run_tw(
        "migrate",
        "--service",
        "notices",
        env={"TW_NOTICES_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
    )
    assert code == 8, (out, err)
    for unusable in ("nonsense", "postgresql://postgres@127.0.0.1:99999/none"):
        env = {"TW_NOTICES_DATABASE_URL": unusable}
        code, out, err = await run_tw("migrate", "--service", "notices", env=env)
        assert code == 2, (unusable, out, err)
        assert "TW_NOTICES_DATABASE_URL is not a usable PostgreSQL URL" in err
        assert "Traceback" not in err
