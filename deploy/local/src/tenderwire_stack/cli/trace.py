"""`tw trace TENDER`: everything that happened to one tender, across the three services.

Reads the services' databases (TW_NOTICES_/TW_MATCHING_/TW_NOTIFY_DATABASE_URL, or the
TW_CONSOLE_* names) read-only; the trace is tenderwire_console.read_models.trace's. Exit codes
are those of `exit_codes.py`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tenderwire_stack.cli.common import JsonOption, console, console_settings
from tenderwire_stack.cli.exit_codes import UNREACHABLE

if TYPE_CHECKING:
    from tenderwire_console.read_models.trace import TenderTrace

CAPTION = (
    "Steps follow cause and effect. An event counts as published when the relay records"
    " Kafka's acknowledgement, so a consumer may show an earlier time."
)


def trace(
    tender_id: Annotated[str, typer.Argument(help="The tender's (notice's) id")],
    as_json: JsonOption = False,
) -> None:
    """Everything that happened to a tender: revisions, events with their Kafka offsets and
    consumers, matches, deliveries. Exit 0 all delivered (or nobody matched), 1 not found,
    3 something failed or has not finished, 8 a database unreachable."""
    from tenderwire_console.read_models.trace import trace_tender
    from tenderwire_console.read_models.trace_evidence import DatabaseUnreachableError

    settings = console_settings()
    try:
        found = asyncio.run(
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
        typer.echo(found.model_dump_json(indent=2))
    else:
        show(found)
    raise typer.Exit(found.exit_code())


def show(trace: TenderTrace) -> None:
    """The trace for a person: a heading, the summary, the steps' table, the problems."""
    if trace.found:
        # Titles and ids come from agencies: escaped, so "[...]" in them is not markup.
        console.print(
            f"[bold]{escape(trace.title or '')}[/bold]  {escape(trace.agency or '')}"
            f" · {trace.status} r{trace.revision}  [dim]{escape(trace.tender_id)}[/dim]",
            highlight=False,
        )
    console.print(f"[bold]{escape(trace.summary)}[/bold]", highlight=False)
    if trace.steps:
        table = Table("at (UTC)", "service", "step", "what happened", caption=CAPTION)
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
