"""`tw lag`, `tw dlq …`, `tw events tail`: the Kafka side of operating Tenderwire.

Each reads TW_KAFKA_BOOTSTRAP_SERVERS and TW_TOPIC_PREFIX, never joins a service's consumer
group and never commits; only `tw dlq replay` writes (to the dead letter's original topic).
Each exits 8 when Kafka cannot be reached, so a script never takes that for an answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from tenderwire_console.dead_letters import DeadLetter
    from tenderwire_console.event_feed import FeedEvent, FeedFilter
    from tenderwire_console.settings import ConsoleSettings

from tenderwire_stack.exit_codes import (
    HAS_DEAD_LETTERS,
    LAGGING,
    NEEDS_ATTENTION,
    NOT_FOUND,
    TIMED_OUT,
    UNREACHABLE,
    USAGE,
)

BAD_REF = USAGE
DECLINED = NEEDS_ATTENTION
KAFKA_UNREACHABLE = UNREACHABLE

T = TypeVar("T")

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay")
events_app = typer.Typer(no_args_is_help=True, help="Events on Tenderwire's topics")

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # messages stay greppable

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _settings() -> ConsoleSettings:
    from tenderwire_console.settings import ConsoleSettings

    return ConsoleSettings()


def _run(work: Coroutine[Any, Any, T]) -> T:
    from aiokafka.errors import KafkaError

    try:
        return asyncio.run(work)
    except BrokenPipeError:
        raise
    except (KafkaError, OSError, TimeoutError) as exc:
        where = _settings().kafka_bootstrap_servers
        errors.print(f"[red]Kafka at {escape(where)} did not answer: {escape(repr(exc))}[/red]")
        raise typer.Exit(KAFKA_UNREACHABLE) from exc


def _printable(value: str | None, limit: int = 200) -> str:
    """Text from a record, safe for a terminal: control characters escaped, markup escaped."""
    if value is None:
        return ""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:limit])
    return escape(shown + ("…" if len(value) > limit else ""))


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
    from tenderwire_console.lag import consumer_lag

    settings = _settings()
    rows = _run(
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
    raise typer.Exit(LAGGING if any(r.lag > max_lag for r in rows) else 0)


def _show_letter(letter: DeadLetter) -> None:
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
        console.print(f"[bold]{label:>7}[/bold] {_printable(value, 4000)}", highlight=False)
    console.print("[bold]headers[/bold]")
    for name, value in letter.headers.items():
        console.print(f"  {_printable(name)}: {_printable(value, 4000)}", highlight=False)
    console.print("[bold]  value[/bold]")
    console.print(_printable(letter.value, 100_000), highlight=False, soft_wrap=True)


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The newest dead letters on every *.dlt topic under TW_TOPIC_PREFIX.

    Exit 0 when there are none, 6 when there are some, 8 when Kafka cannot be reached.
    """
    from tenderwire_console.dead_letters import list_dead_letters

    settings = _settings()
    letters = _run(
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
                _printable(d.ref),
                f"{d.timestamp:%Y-%m-%d %H:%M:%S}",
                _printable(d.consumer_group),
                _printable(d.event_type or "?"),
                _printable(d.reason, 120),
            )
        console.print(table)
    else:
        console.print("[green]no dead letters[/green]")
    raise typer.Exit(HAS_DEAD_LETTERS if letters else 0)


RefArgument = Annotated[str, typer.Argument(help="<dlt topic>:<partition>:<offset>, from list")]


@dlq_app.command("show")
def dlq_show(ref: RefArgument, as_json: JsonOption = False) -> None:
    """One dead letter in full. Exit 0 found, 1 not found, 2 malformed ref, 8 no Kafka."""
    from tenderwire_console.dead_letters import get_dead_letter

    try:
        letter = _run(get_dead_letter(_settings().kafka_bootstrap_servers, ref))
    except ValueError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(BAD_REF) from exc
    if letter is None:
        errors.print(f"[red]no dead letter at {escape(ref)}[/red]")
        raise typer.Exit(NOT_FOUND)
    if as_json:
        typer.echo(letter.model_dump_json(indent=2))
    else:
        _show_letter(letter)


@dlq_app.command("replay")
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
    from tenderwire_console.dead_letters import DeadLetterNotFoundError, get_dead_letter, replay

    bootstrap = _settings().kafka_bootstrap_servers
    try:
        if not yes:
            letter = _run(get_dead_letter(bootstrap, ref))
            if letter is None:
                raise DeadLetterNotFoundError(f"no dead letter at {ref}")
            question = (
                f"Replay {letter.event_type or 'the record'} {letter.event_id or ''}"
                f" to {letter.original_topic}?"
            )
            if not click.confirm(question, err=True):
                raise typer.Exit(DECLINED)
        done = _run(replay(bootstrap, ref))
    except click.Abort as exc:
        raise typer.Exit(DECLINED) from exc
    except DeadLetterNotFoundError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(NOT_FOUND) from exc
    except ValueError as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(BAD_REF) from exc
    if as_json:
        typer.echo(done.model_dump_json(indent=2))
    else:
        console.print(f"replayed {done.ref} to {done.to_topic}:{done.partition}:{done.offset}")


def _event_line(event: FeedEvent, topic_prefix: str) -> str:
    about = " ".join(
        f"{label}={_printable(value, 60)}"
        for label, value in (("tender", event.tender_id), ("supplier", event.supplier_id))
        if value
    )
    stamp = event.timestamp.strftime("%H:%M:%S.%f")[:-3]
    line = (
        f"[dim]{stamp}[/dim] {_printable(event.topic.removeprefix(topic_prefix), 60)}"
        f" [bold]{_printable(event.event_type, 60)}[/bold] {about}"
    )
    if event.correlation_id:
        line += f" [dim]corr={_printable(event.correlation_id, 60)}[/dim]"
    if not event.event_id:  # not an envelope: show enough of it to recognise
        line += f" [red]{_printable(str(event.data.get('value', '')), 80)}[/red]"
    return line


async def _tail(
    feed_filter: FeedFilter,
    *,
    from_beginning: bool,
    last: int,
    count: int | None,
    stop_after_s: float | None,
    as_json: bool,
) -> int:
    from tenderwire_console.event_feed import follow

    settings = _settings()
    prefix = settings.topic_prefix

    def ready(topics: list[str]) -> None:
        shown = ", ".join(t.removeprefix(prefix) for t in topics) or "no topics yet"
        errors.print(f"[dim]tailing {escape(shown)} (Ctrl-C stops)[/dim]", highlight=False)

    seen = 0
    events = follow(
        settings.kafka_bootstrap_servers,
        topic_prefix=prefix,
        feed_filter=feed_filter,
        from_beginning=from_beginning,
        last=last,
        on_ready=ready,
    )
    try:
        async with asyncio.timeout(stop_after_s):
            async for event in events:
                if as_json:
                    typer.echo(event.model_dump_json())
                else:
                    console.print(_event_line(event, prefix), highlight=False, soft_wrap=True)
                seen += 1
                if count is not None and seen >= count:
                    return 0
    except TimeoutError:
        return TIMED_OUT if count is not None else 0
    finally:
        await events.aclose()
    return 0


@events_app.command("tail")
def events_tail(
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="Topic without the prefix, `*` allowed (repeatable);"
            " dead-letter topics only when named, e.g. --topic '*.dlt'",
        ),
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="Event type, `*` allowed: tender.* (repeatable)"),
    ] = None,
    tender: Annotated[str | None, typer.Option("--tender", help="Only events about it")] = None,
    supplier: Annotated[str | None, typer.Option("--supplier", help="Only events about it")] = None,
    from_beginning: Annotated[bool, typer.Option("--from-beginning")] = False,
    last: Annotated[
        int, typer.Option(min=0, help="Start this many records back per partition")
    ] = 0,
    count: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many matching events")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds in all")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Follow events as they arrive, one line each, without joining any consumer group.

    Exit 0 when stopped by --count, by Ctrl-C, or by --timeout when no --count was given;
    7 when --timeout passed before --count events matched, 8 when Kafka cannot be reached.
    """
    from tenderwire_console.event_feed import FeedFilter

    wanted = FeedFilter(
        topics=topic or [], types=type_ or [], tender_id=tender, supplier_id=supplier
    )
    try:
        code = _run(
            _tail(
                wanted,
                from_beginning=from_beginning,
                last=last,
                count=count,
                stop_after_s=timeout,
                as_json=as_json,
            )
        )
    except KeyboardInterrupt:
        code = 0
    except BrokenPipeError:  # piped into `head`, which has seen enough
        # Python flushes stdout again at exit; point it somewhere that still listens.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    raise typer.Exit(code)
