"""`tw sink`: one local sink in the foreground, on the local stack's ports by default."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from tenderwire_shared.local_ports import LOCAL_PORTS

app = typer.Typer(no_args_is_help=True, help="Run one local sink in the foreground")


@app.command("mailcatcher")
def sink_mailcatcher(
    smtp_port: Annotated[int, typer.Option()] = LOCAL_PORTS.smtp,
    http_port: Annotated[int, typer.Option()] = LOCAL_PORTS.mail_http,
    store: Annotated[Path, typer.Option(help="JSON-lines file that keeps caught mail")] = Path(
        "mail.jsonl"
    ),
) -> None:
    from tenderwire_stack.mailcatcher import serve

    asyncio.run(serve(smtp_port, http_port, store))


@app.command("smsgateway")
def sink_smsgateway(port: Annotated[int, typer.Option()] = LOCAL_PORTS.sms) -> None:
    from tenderwire_stack.smsgateway import serve

    asyncio.run(serve(port))
