"""`tw stack`: the local platform (Kafka, PostgreSQL, the sinks, the services)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from tenderwire_stack import demo
from tenderwire_stack.cli.common import JsonOption, console
from tenderwire_stack.kafka import build_libs
from tenderwire_stack.stack import Stack

app = typer.Typer(
    no_args_is_help=True, help="The local platform: Kafka, PostgreSQL, sinks, services"
)


@app.command("prepare")
def stack_prepare() -> None:
    """Fetch Kafka's jars from Maven Central (once; again when the pom changes)."""
    try:
        libs = build_libs()
    except Exception as exc:
        console.print(f"[red]could not fetch Kafka's jars:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"[dim]kafka: {len(list(libs.glob('*.jar')))} jars in {libs}[/dim]")


@app.command("up")
def stack_up(
    services: Annotated[bool, typer.Option(help="Start the three services too")] = True,
) -> None:
    """Start everything (harmless when already running)."""
    stack = Stack()
    try:
        stack.up(with_services=services, say=lambda m: console.print(f"[dim]{m}[/dim]"))
    except Exception as exc:
        console.print(f"[red]stack up failed:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command("down")
def stack_down() -> None:
    """Stop every process the stack started, by its pid."""
    Stack().down(say=console.print)


@app.command("status")
def stack_status(as_json: JsonOption = False) -> None:
    """Show each component; exit 1 if any is down."""
    components = Stack().status()
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in components], indent=2))
    else:
        table = Table("component", "kind", "state", "pid", "where")
        for c in components:
            state = "[green]running[/green]" if c.running else "[red]stopped[/red]"
            table.add_row(c.name, c.kind, state, str(c.pid or ""), c.url)
        console.print(table)
    if not all(c.running for c in components):
        raise typer.Exit(1)


@app.command("logs")
def stack_logs(
    component: Annotated[str, typer.Argument(help="kafka, postgres, mailcatcher, notices, ...")],
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
) -> None:
    """Print a component's log file."""
    path = Stack().log_file(component)
    if not path.exists():
        console.print(f"[red]no log yet at {path}[/red]")
        raise typer.Exit(1)
    command = ["tail", f"-n{lines}", *(["-F"] if follow else []), str(path)]
    raise typer.Exit(subprocess.call(command))


@app.command("demo")
def stack_demo() -> None:
    """Load the demo suppliers and print where to look."""
    stack = Stack()
    p = stack.ports
    for line in demo.load(f"http://127.0.0.1:{p.matching}", stack.operator_token()):
        console.print(f"[dim]{line}[/dim]")
    key = asyncio.run(demo.agency_key(stack.postgres.dsn("notices")))
    tender = json.dumps(demo.DEMO_TENDER)
    console.print(
        "\n[bold]Tenderwire is running.[/bold]\n"
        f"  suppliers' portal  http://127.0.0.1:{p.matching}/portal/\n"
        f"  notices API docs   http://127.0.0.1:{p.notices}/docs\n"
        f"  matching API docs  http://127.0.0.1:{p.matching}/docs\n"
        f"  notify API docs    http://127.0.0.1:{p.notify}/docs\n"
        f"  operators' console http://127.0.0.1:{p.console}/"
        f"  (log in as any user, password {stack.operator_token()})\n"
        f"  caught mail        http://127.0.0.1:{p.mail_http}/\n"
        f"  SMS gateway stub   http://127.0.0.1:{p.sms}/api/messages\n"
        f"  Kafka              {stack.kafka.bootstrap_servers}\n"
        f"  PostgreSQL         {stack.postgres.dsn()}\n\n"
        "Publish a tender:\n"
        f"  curl -s -X POST http://127.0.0.1:{p.notices}/v1/notices "
        f"-H 'Authorization: Bearer {key}' "
        f"-H 'Content-Type: application/json' -d '{tender}'\n\n"
        f"{demo.DEMO_AGENCY[0]}'s API key (shown once; `tw agencies issue-key` makes more):\n"
        f"  {key}\n\n"
        "Stop everything with: make stop",
        highlight=False,
        soft_wrap=True,
    )
