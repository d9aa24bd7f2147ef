"""What the `tw` commands share: the --json option, where answers and errors are printed,
text from records made safe for a terminal, and the console's settings and Kafka errors."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from tenderwire_stack.cli.exit_codes import UNREACHABLE

if TYPE_CHECKING:
    from tenderwire_console.settings import ConsoleSettings

T = TypeVar("T")

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # messages stay greppable

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def console_settings() -> ConsoleSettings:
    """Where the read-side commands read from (the console's settings, imported on use)."""
    from tenderwire_console.settings import ConsoleSettings

    return ConsoleSettings()


def run_against_kafka(work: Coroutine[Any, Any, T]) -> T:
    """Run `work`; Kafka not answering exits 8, so a script never takes it for an answer."""
    from aiokafka.errors import KafkaError

    try:
        return asyncio.run(work)
    except BrokenPipeError:
        raise
    except (KafkaError, OSError, TimeoutError) as exc:
        where = console_settings().kafka_bootstrap_servers
        errors.print(f"[red]Kafka at {escape(where)} did not answer: {escape(repr(exc))}[/red]")
        raise typer.Exit(UNREACHABLE) from exc


def printable(value: str | None, limit: int = 200) -> str:
    """Text from a record, safe for a terminal: control characters escaped, markup escaped."""
    if value is None:
        return ""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:limit])
    return escape(shown + ("…" if len(value) > limit else ""))
