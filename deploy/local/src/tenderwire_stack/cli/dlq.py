"""`tw dlq list|show|replay`: dead letters, and putting one back on its original topic.

Reads TW_KAFKA_BOOTSTRAP_SERVERS and TW_TOPIC_PREFIX and never joins a consumer group; only
`replay` writes (to the dead letter's original topic). The reads and the replay are
tenderwire_console.read_models.dlq's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.markup import escape
from rich.table import Table

from tenderwire_stack.cli.common import (
    JsonOption,
    console,
    console_settings,
    errors,
    printable,
    run_against_kafka,
)
from tenderwire_stack.cli.exit_codes import HAS_DEAD_LETTERS, NEEDS_ATTENTION, NOT_FOUND, OK, USAGE

if TYPE_CHECKING:
    from tenderwire_console.read_models.dlq import DeadLetter

app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay")

RefArgument = Annotated[str, typer.Argument(help="<dlt topic>:<partition>:<offset>, from list")]


@app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The newest dead letters on every *.dlt topic under TW_TOPIC_PREFIX.

    Exit 0 when there are none, 6 when there are some, 8 when Kafka cannot be reached.
    """
    from tenderwire_console.read_models.dlq import list_dead_letters

    settings = console_settings()
    letters = run_against_kafka(
        list_dead_letters(
            settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix, limit=limit
        )
    )
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in letters], indent=2))
    elif letters:
        table = Table("ref", "time", "group", "event type", "reason")
        for d in letters:
            table.add_row(
                printable(d.ref),
                f"{d.timestamp:%Y-%m-%d %H:%M:%S}",
                printable(d.consumer_group),
                printable(d.event_type or "?"),
                printable(d.reason, 120),
            )
        console.print(table)
    else:
        console.print("[green]no dead letters[/green]")
    raise typer.Exit(HAS_DEAD_LETTERS if letters else OK)


@app.command("show")
def dlq_show(ref: RefArgument, as_json: JsonOption = False) -> None:
    """One dead letter in full. Exit 0 found, 1 not found, 2 malformed ref, 8 no Kafka."""
    from tenderwire_console.read_models.dlq import get_dead_letter

    try:
        letter = run_against_kafka(get_dead_letter(console_settings().kafka_bootstrap_servers, ref))
    except ValueError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(USAGE) from exc
    if letter is None:
        errors.print(f"[red]no dead letter at {escape(ref)}[/red]")
        raise typer.Exit(NOT_FOUND)
    if as_json:
        typer.echo(letter.model_dump_json(indent=2))
    else:
        show(letter)


def show(letter: DeadLetter) -> None:
    """One dead letter for a person; every field is escaped, as anyone may write to a topic."""
    origin = f"{letter.original_topic}:{letter.original_partition}:{letter.original_offset}"
    for label, value in (
        ("ref", letter.ref),
        ("time", letter.timestamp.isoformat()),
        ("group", letter.consumer_group),
        ("from", origin),
        ("error", letter.error_type),
        ("reason", letter.reason),
        ("event", f"{letter.event_type or '?'} {letter.event_id or '?'}"),
        ("key", letter.key),
    ):
        console.print(f"[bold]{label:>7}[/bold] {printable(value, 4000)}", highlight=False)
    console.print("[bold]headers[/bold]")
    for name, value in letter.headers.items():
        console.print(f"  {printable(name)}: {printable(value, 4000)}", highlight=False)
    console.print("[bold]  value[/bold]")
    console.print(printable(letter.value, 100_000), highlight=False, soft_wrap=True)


@app.command("replay")
def dlq_replay(
    ref: RefArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    as_json: JsonOption = False,
) -> None:
    """Put a dead letter back on its original topic, for its consumer to try again.

    Safe to repeat: consumers drop an event whose envelope id they have handled. Exit 0
    replayed, 1 not found, 2 malformed ref (or headers that do not match the topic), 3 not
    confirmed, 8 when Kafka cannot be reached.
    """
    from tenderwire_console.read_models.dlq import (
        DeadLetterNotFoundError,
        get_dead_letter,
        replay,
    )

    bootstrap = console_settings().kafka_bootstrap_servers
    try:
        if not yes:
            letter = run_against_kafka(get_dead_letter(bootstrap, ref))
            if letter is None:
                raise DeadLetterNotFoundError(f"no dead letter at {ref}")
            question = (
                f"Replay {letter.event_type or 'the record'} {letter.event_id or ''}"
                f" to {letter.original_topic}?"
            )
            if not click.confirm(question, err=True):
                raise typer.Exit(NEEDS_ATTENTION)  # declined
        done = run_against_kafka(replay(bootstrap, ref))
    except click.Abort as exc:
        raise typer.Exit(NEEDS_ATTENTION) from exc
    except DeadLetterNotFoundError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(NOT_FOUND) from exc
    except ValueError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(USAGE) from exc
    if as_json:
        typer.echo(done.model_dump_json(indent=2))
    else:
        console.print(f"replayed {done.ref} to {done.to_topic}:{done.partition}:{done.offset}")
