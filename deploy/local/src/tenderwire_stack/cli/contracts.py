"""`tw contracts`: write (or check) docs/contracts/ from the code."""

from __future__ import annotations

from typing import Annotated

import typer

from tenderwire_stack.cli.common import console


def contracts(
    check: Annotated[bool, typer.Option(help="Only report stale files; exit 1 if any")] = False,
) -> None:
    """Write docs/contracts/ (event JSON Schemas, AsyncAPI) from the code."""
    from tenderwire_stack import contracts as generated  # faststream's AsyncAPI: only here

    if check:
        stale = generated.stale_files()
        for path in stale:
            console.print(f"[red]stale:[/red] {path}")
        raise typer.Exit(1 if stale else 0)
    for path in generated.write():
        console.print(f"wrote {path}")
