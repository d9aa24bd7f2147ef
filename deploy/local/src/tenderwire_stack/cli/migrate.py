"""`tw migrate`: bring each service's database up to date, before the services start.

For an orchestrator's prestart step (a Kubernetes Job or init container): run it once, then
start the services with TW_MIGRATE_ON_START=false, so they only check the database is up to
date and refuse to start on one that is not. Each service's database comes from its own
settings (TW_NOTICES_DATABASE_URL, TW_MATCHING_DATABASE_URL, TW_NOTIFY_DATABASE_URL).

Exit codes (see exit_codes.py): 0 done (or, with --check, nothing pending), 1 an applied
migration file was edited, 2 a database URL that is no PostgreSQL URL, 3 --check found
migrations pending, 8 a database is unreachable.
"""

from __future__ import annotations

import asyncio
import json
import os
from enum import StrEnum
from typing import Annotated

import asyncpg
import typer
from pydantic_settings import BaseSettings

from tenderwire_shared.db import (
    MigrationError,
    MigrationsPendingError,
    check_migrated,
    create_pool,
    migrate,
)
from tenderwire_stack.cli.common import JsonOption, console, errors
from tenderwire_stack.cli.exit_codes import NEEDS_ATTENTION, NOT_FOUND, UNREACHABLE, USAGE


class Service(StrEnum):
    NOTICES = "notices"
    MATCHING = "matching"
    NOTIFY = "notify"


def _database(service: Service) -> tuple[str, str]:
    """The service's database URL and migrations package. Imported here: each service's
    settings pull in its modules, which `tw`'s other commands need not wait for."""
    if service is Service.NOTICES:
        from tenderwire_notices.bootstrap import MIGRATIONS as NOTICES
        from tenderwire_notices.settings import NoticesSettings

        return database_url(NoticesSettings), NOTICES
    if service is Service.MATCHING:
        from tenderwire_matching.bootstrap import MIGRATIONS as MATCHING
        from tenderwire_matching.settings import MatchingSettings

        return database_url(MatchingSettings), MATCHING
    from tenderwire_notify.bootstrap import MIGRATIONS as NOTIFY
    from tenderwire_notify.settings import NotifySettings

    return database_url(NotifySettings), NOTIFY


def database_url(settings: type[BaseSettings]) -> str:
    """The service's database URL as the service reads it, and nothing else: a prestart job
    migrates with the database's address alone, without the secrets (portal, unsubscribe)
    that the service's full settings refuse to do without in production."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    default = str(settings.model_fields["database_url"].default)
    return os.environ.get(f"{prefix}DATABASE_URL".upper(), default)


async def _migrate(service: Service, *, check: bool) -> list[str]:
    dsn, package = _database(service)
    pool = await create_pool(dsn, max_size=1)
    try:
        if check:
            await check_migrated(pool, package)
            return []
        return await migrate(pool, package)
    finally:
        await pool.close()


def migrate_command(
    service: Annotated[
        list[Service] | None,
        typer.Option("--service", help="Only this service's database (repeatable); all three"),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Apply nothing: say whether migrations are pending")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Apply pending migrations to each service's database (a prestart step)."""
    report: dict[str, list[str]] = {}
    for one in service or list(Service):
        try:
            report[one.value] = asyncio.run(_migrate(one, check=check))
        except MigrationError as exc:
            errors.print(f"[red]{one.value}:[/red] {exc}")
            pending = isinstance(exc, MigrationsPendingError)
            raise typer.Exit(NEEDS_ATTENTION if pending else NOT_FOUND) from exc
        except (asyncpg.ClientConfigurationError, ValueError, OverflowError) as exc:
            setting = f"TW_{one.value.upper()}_DATABASE_URL"
            errors.print(f"[red]{setting} is not a usable PostgreSQL URL:[/red] {exc}")
            raise typer.Exit(USAGE) from exc
        except (OSError, asyncpg.PostgresError) as exc:
            errors.print(f"[red]cannot reach the {one.value} database:[/red] {exc}")
            raise typer.Exit(UNREACHABLE) from exc
    if as_json:
        typer.echo(json.dumps({"applied": report, "checked_only": check}))
        return
    for name, applied in report.items():
        if check:
            console.print(f"{name}: up to date")
        elif applied:
            console.print(f"{name}: applied {', '.join(applied)}")
        else:
            console.print(f"{name}: up to date, nothing to apply")
