"""`tw agencies`: the admin commands that create agencies and their API keys."""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import typer
from rich.console import Console

from tenderwire_notices import agencies
from tenderwire_notices.bootstrap import MIGRATIONS
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared.db import create_pool, migrate

app = typer.Typer(
    no_args_is_help=True,
    help="Agencies and API keys (uses TW_NOTICES_DATABASE_URL, like the notices service)",
)
console = Console()


async def _with_pool(action: str, agency: str, name: str, label: str) -> str:
    pool = await create_pool(NoticesSettings().database_url, max_size=2)
    try:
        await migrate(pool, MIGRATIONS)
        if action == "add":
            await agencies.create_agency(pool, agency, name)
            return await agencies.issue_key(pool, agency, label)
        if action == "key":
            return await agencies.issue_key(pool, agency, label)
        return str(await agencies.revoke_keys(pool, agency))
    finally:
        await pool.close()


def _run(action: str, agency: str, name: str = "", label: str = "") -> str:
    try:
        return asyncio.run(_with_pool(action, agency, name, label))
    except agencies.AgencyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        console.print(f"[red]cannot reach the notices database:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. UNICEF")],
    name: Annotated[str, typer.Option(help="Full name")] = "",
    label: Annotated[str, typer.Option(help="What the first key is for")] = "first key",
) -> None:
    """Create an agency and print its first API key (shown only once)."""
    typer.echo(_run("add", code, name or code, label))


@app.command("issue-key")
def issue_key(
    code: str, label: Annotated[str, typer.Option(help="What this key is for")] = ""
) -> None:
    """Print a new API key for an existing agency (shown only once)."""
    typer.echo(_run("key", code, label=label))


@app.command("revoke-keys")
def revoke_keys(code: str) -> None:
    """Revoke every key of an agency."""
    console.print(f"revoked {_run('revoke', code)} key(s) of {code}")
