"""`tw`: the operator's command line. Each `tw X` lives in `cli/X.py`.

| command | file | reads (or writes) |
|---|---|---|
| `tw stack prepare, up, down, status, logs, demo` | stack.py | the local platform |
| `tw sink mailcatcher, smsgateway` | sink.py | one local sink, in the foreground |
| `tw contracts` | contracts.py | writes docs/contracts/ |
| `tw catalogs update, check` | catalogs.py | writes each translated package's locale/ |
| `tw codes load, status` | codes.py | writes the code picker's titles in matching's database |
| `tw agencies add, issue-key, revoke-keys` | agencies.py | writes notices' database |
| `tw ocds import, feed set, feed remove, feed status` | ocds.py | writes notices' database |
| `tw deliveries requeue` | deliveries.py | writes notify's database |
| `tw migrate` | migrate.py | writes every service's schema (a prestart step) |
| `tw why` | why.py | tenderwire_console.read_models.why |
| `tw trace` | trace.py | tenderwire_console.read_models.trace |
| `tw lag` | lag.py | tenderwire_console.read_models.lag |
| `tw dlq list, show, replay` | dlq.py | tenderwire_console.read_models.dlq |
| `tw events tail` | events.py | tenderwire_console.read_models.event_feed |

Exit codes, shared by every command: exit_codes.py. What the commands share: common.py.
"""

from __future__ import annotations

import typer

from tenderwire_shared.logging import configure_logging
from tenderwire_stack.cli import (
    agencies,
    catalogs,
    codes,
    contracts,
    deliveries,
    dlq,
    events,
    lag,
    migrate,
    ocds,
    sink,
    stack,
    trace,
    why,
)

app = typer.Typer(no_args_is_help=True, help="Tenderwire operator tools")
app.add_typer(stack.app, name="stack")
app.add_typer(sink.app, name="sink")
app.add_typer(agencies.app, name="agencies")
app.add_typer(catalogs.app, name="catalogs")
app.add_typer(codes.app, name="codes")
app.add_typer(dlq.app, name="dlq")
app.add_typer(events.app, name="events")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(ocds.app, name="ocds")
app.command("lag")(lag.lag)
app.command("why")(why.why)
app.command("trace")(trace.trace)
app.command("contracts")(contracts.contracts)
app.command("migrate")(migrate.migrate_command)


@app.callback()
def _quiet_logs() -> None:
    # stdout is for answers (--json is parsed by scripts); library chatter goes to stderr.
    configure_logging("tw", level="WARNING", json=False)
