"""`tw lag`: how far each consumer group is behind, per partition.

Reads TW_KAFKA_BOOTSTRAP_SERVERS and TW_TOPIC_PREFIX, never joins a service's consumer group
and never commits; the rows are tenderwire_console.read_models.lag's.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tenderwire_stack.cli.common import (
    JsonOption,
    console,
    console_settings,
    errors,
    run_against_kafka,
)
from tenderwire_stack.cli.exit_codes import LAGGING, NOT_FOUND, OK


def lag(
    groups: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only this group (repeatable)")
    ] = None,
    max_lag: Annotated[
        int, typer.Option(min=0, help="Exit 5 only when some partition lags more than this")
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Consumer lag per group and partition, for topics under TW_TOPIC_PREFIX.

    Exit 0 when no partition lags more than --max-lag, 5 when one does, 1 when a --group
    has committed nothing under the prefix, 8 when Kafka cannot be reached.
    """
    from tenderwire_console.read_models.lag import consumer_lag

    settings = console_settings()
    rows = run_against_kafka(
        consumer_lag(
            settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix, groups=groups
        )
    )
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in rows], indent=2))
    else:
        table = Table("group", "topic", "partition", "committed", "end", "lag")
        for r in rows:
            shown = f"[red]{r.lag}[/red]" if r.lag > max_lag else str(r.lag)
            committed = "-" if r.committed is None else str(r.committed)
            table.add_row(r.group, r.topic, str(r.partition), committed, str(r.end), shown)
        console.print(table if rows else "[dim]no consumer group has committed here[/dim]")
    missing = sorted(set(groups or ()) - {r.group for r in rows})
    if missing:
        errors.print(f"[red]nothing committed under the prefix by:[/red] {', '.join(missing)}")
        raise typer.Exit(NOT_FOUND)
    raise typer.Exit(LAGGING if any(r.lag > max_lag for r in rows) else OK)
