"""`tw agencies`: the admin commands that create agencies and their API keys.

Exit codes (see exit_codes.py): 0 done, 1 refused (unknown or duplicate agency), 8 the
database is unreachable.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import asyncpg
import typer

from tenderwire_notices.domain import AgencyError
from tenderwire_shared.db import create_pool, migrate
from tenderwire_stack.cli.common import JsonOption, console
from tenderwire_stack.cli.exit_codes import NOT_FOUND, UNREACHABLE

app = typer.Typer(
    no_args_is_help=True,
    help="Agencies and API keys (uses TW_NOTICES_DATABASE_URL, like the notices service)",
)


async def _with_pool(action: str, agency: str, name: str, label: str) -> str:
    # Imported here: the notices app pulls in FastAPI and OCDS, a second on every `tw` start.
    from tenderwire_notices import services
    from tenderwire_notices.bootstrap import MIGRATIONS
    from tenderwire_notices.settings import NoticesSettings

    pool = await create_pool(NoticesSettings().database_url, max_size=2)
    try:
        await migrate(pool, MIGRATIONS)
        if action == "add":
            await services.create_agency(pool, agency, name)
            return await services.issue_key(pool, agency, label)
        if action == "key":
            return await services.issue_key(pool, agency, label)
        return str(await services.revoke_keys(pool, agency))
    finally:
        await pool.close()


def _run(action: str, agency: str, name: str = "", label: str = "") -> str:
    try:
        return asyncio.run(_with_pool(action, agency, name, label))
    except AgencyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(NOT_FOUND) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        console.print(f"[red]cannot reach the notices database:[/red] {exc}")
        raise typer.Exit(UNREACHABLE) from exc


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. UNICEF")],
    name: Annotated[str, typer.Option(help="Full name")] = "",
    label: Annotated[str, typer.Option(help="What the first key is for")] = "first key",
    as_json: JsonOption = False,
) -> None:
    """Create an agency and print its first API key (shown only once)."""
    key = _run("add", code, name or code, label)
    typer.echo(json.dumps({"agency": code, "api_key": key}) if as_json else key)


@app.command("issue-key")
def issue_key(
    code: str,
    label: Annotated[str, typer.Option(help="What this key is for")] = "",
    as_json: JsonOption = False,
) -> None:
    """Print a new API key for an existing agency (shown only once)."""
    key = _run("key", code, label=label)
    typer.echo(json.dumps({"agency": code, "api_key": key}) if as_json else key)


@app.command("revoke-keys")
def revoke_keys(code: str, as_json: JsonOption = False) -> None:
    """Revoke every key of an agency."""
    revoked = _run("revoke", code)
    if as_json:
        typer.echo(json.dumps({"agency": code, "revoked": int(revoked)}))
    else:
        console.print(f"revoked {revoked} key(s) of {code}")
