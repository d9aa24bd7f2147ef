"""`tw why SUPPLIER TENDER`: why a supplier heard about a tender, or why it did not.

Reads matching's and notify's databases (TW_MATCHING_/TW_NOTIFY_DATABASE_URL, or the
TW_CONSOLE_* names) read-only; the answer is tenderwire_console.read_models.why's. Exit codes
are those of `exit_codes.py`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import asyncpg
import typer

from tenderwire_stack.cli.common import JsonOption, console, console_settings, errors
from tenderwire_stack.cli.exit_codes import UNREACHABLE


def why(
    supplier_id: Annotated[str, typer.Argument(help="The supplier's id")],
    tender_id: Annotated[str, typer.Argument(help="The tender's (notice's) id")],
    as_json: JsonOption = False,
) -> None:
    """Why a supplier heard about a tender, or not. Exit 0 alerted, 3 matched but not
    delivered, 4 not matched, 1 not found, 8 a database unreachable."""
    from tenderwire_console.read_models.why import explain

    settings = console_settings()
    try:
        answer = asyncio.run(
            explain(
                settings.matching_database_url,
                settings.notify_database_url,
                supplier_id,
                tender_id,
                levels=settings.code_hierarchy_levels,
            )
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The message names host and port, never the URL: it may carry a password.
        errors.print(f"tw why: cannot reach a database: {exc}", markup=False, highlight=False)
        raise typer.Exit(UNREACHABLE) from exc
    if as_json:
        typer.echo(json.dumps(answer.as_json(), indent=2))
    else:
        console.print(f"[bold]{answer.summary}[/bold]")
        for check in answer.checks:
            mark = "[green]pass[/green]" if check.passed else "[red]FAIL[/red]"
            console.print(f"  {mark} {check.rule}: {check.detail}", highlight=False)
        for delivery in answer.deliveries:
            console.print(
                f"  {delivery['channel']} {delivery['kind']} r{delivery['revision']}:"
                f" {delivery['state']} after {delivery['attempts']} attempt(s)"
                + (f" ({delivery['last_error']})" if delivery["last_error"] != "None" else ""),
                highlight=False,
            )
    raise typer.Exit(int(answer.verdict))
