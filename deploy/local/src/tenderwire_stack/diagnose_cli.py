"""`tw why SUPPLIER TENDER` and `tw trace TENDER`: what happened to an alert, and why.

Both read the services' databases (TW_NOTICES_/TW_MATCHING_/TW_NOTIFY_DATABASE_URL, or the
TW_CONSOLE_* names) read-only. Exit codes are those of `exit_codes.py`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from tenderwire_stack.exit_codes import UNREACHABLE

console = Console()
errors = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def why(
    supplier_id: Annotated[str, typer.Argument(help="The supplier's id")],
    tender_id: Annotated[str, typer.Argument(help="The tender's (notice's) id")],
    as_json: JsonOption = False,
) -> None:
    """Why a supplier heard about a tender, or not. Exit 0 alerted, 3 matched but not
    delivered, 4 not matched, 1 not found, 8 a database unreachable."""
    from tenderwire_console.settings import ConsoleSettings
    from tenderwire_console.why import explain

    settings = ConsoleSettings()
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


def trace(
    tender_id: Annotated[str, typer.Argument(help="The tender's (notice's) id")],
    as_json: JsonOption = False,
) -> None:
    """Everything that happened to a tender: revisions, events with their Kafka offsets and
    consumers, matches, deliveries. Exit 0 all delivered (or nobody matched), 1 not found,
    3 something failed or has not finished, 8 a database unreachable."""
    from datetime import UTC

    from rich.markup import escape

    from tenderwire_console.settings import ConsoleSettings
    from tenderwire_console.trace import trace_tender
    from tenderwire_console.trace_evidence import DatabaseUnreachableError

    settings = ConsoleSettings()
    try:
        trace = asyncio.run(
            trace_tender(
                settings.notices_database_url,
                settings.matching_database_url,
                settings.notify_database_url,
                tender_id,
            )
        )
    except DatabaseUnreachableError as exc:
        # On stderr, so a script reading --json sees no half answer on stdout.
        typer.echo(f"tw trace: {exc}", err=True)
        raise typer.Exit(UNREACHABLE) from exc
    if as_json:
        typer.echo(trace.model_dump_json(indent=2))
    else:
        if trace.found:
            # Titles and ids come from agencies: escaped, so "[...]" in them is not markup.
            console.print(
                f"[bold]{escape(trace.title or '')}[/bold]  {escape(trace.agency or '')}"
                f" · {trace.status} r{trace.revision}  [dim]{escape(trace.tender_id)}[/dim]",
                highlight=False,
            )
        console.print(f"[bold]{escape(trace.summary)}[/bold]", highlight=False)
        if trace.steps:
            table = Table(
                "at (UTC)", "service", "step", "what happened",
                caption="Steps follow cause and effect. An event counts as published when the"
                " relay records Kafka's acknowledgement, so a consumer may show an earlier time.",
            )  # fmt: skip
            for step in trace.steps:
                failed = step.state == "failed" or step.kind == "event_unpublished"
                table.add_row(
                    f"{step.at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3],
                    step.service,
                    step.kind,
                    f"[red]{escape(step.summary)}[/red]" if failed else escape(step.summary),
                )
            console.print(table)
        for problem in trace.problems:
            console.print(f"[red]problem:[/red] {escape(problem)}", highlight=False)
    raise typer.Exit(trace.exit_code())
