"""`tw events tail`: a live, filtered view of every event on Tenderwire's topics.

Reads TW_KAFKA_BOOTSTRAP_SERVERS and TW_TOPIC_PREFIX outside any consumer group, so it never
commits; the tail is tenderwire_console.read_models.event_feed's.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from tenderwire_stack.cli.common import (
    console,
    console_settings,
    errors,
    printable,
    run_against_kafka,
)
from tenderwire_stack.cli.exit_codes import OK, TIMED_OUT

if TYPE_CHECKING:
    from tenderwire_console.read_models.event_feed import FeedEvent, FeedFilter

app = typer.Typer(no_args_is_help=True, help="Events on Tenderwire's topics")


def event_line(event: FeedEvent, topic_prefix: str) -> str:
    """One event as a line of rich markup; the record's own text is escaped."""
    about = " ".join(
        f"{label}={printable(value, 60)}"
        for label, value in (("tender", event.tender_id), ("supplier", event.supplier_id))
        if value
    )
    stamp = event.timestamp.strftime("%H:%M:%S.%f")[:-3]
    line = (
        f"[dim]{stamp}[/dim] {printable(event.topic.removeprefix(topic_prefix), 60)}"
        f" [bold]{printable(event.event_type, 60)}[/bold] {about}"
    )
    if event.correlation_id:
        line += f" [dim]corr={printable(event.correlation_id, 60)}[/dim]"
    if not event.event_id:  # not an envelope: show enough of it to recognise
        line += f" [red]{printable(str(event.data.get('value', '')), 80)}[/red]"
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
    from tenderwire_console.read_models.event_feed import follow

    settings = console_settings()
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
                    console.print(event_line(event, prefix), highlight=False, soft_wrap=True)
                seen += 1
                if count is not None and seen >= count:
                    return OK
    except TimeoutError:
        return TIMED_OUT if count is not None else OK
    finally:
        await events.aclose()
    return OK


@app.command("tail")
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
    from tenderwire_console.read_models.event_feed import FeedFilter

    wanted = FeedFilter(
        topics=topic or [], types=type_ or [], tender_id=tender, supplier_id=supplier
    )
    try:
        code = run_against_kafka(
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
        code = OK
    except BrokenPipeError:  # piped into `head`, which has seen enough
        # Python flushes stdout again at exit; point it somewhere that still listens.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = OK
    raise typer.Exit(code)
