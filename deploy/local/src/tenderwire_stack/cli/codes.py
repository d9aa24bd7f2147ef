"""`tw codes`: the titles the portal's code picker shows.

The project ships no UNSPSC title (UNDP/GS1 material, not open data); notices teach the picker
the item descriptions agencies write beside their codes. An operator who holds a licensed list
loads it here, as CSV rows of `code,title[,language]`:

    tw codes load --scheme unspsc unspsc-en.csv
    tw codes load --scheme cpv --language fr cpv-fr.csv --replace
    tw codes status

Exit codes (see exit_codes.py): 0 done, 2 a file that cannot be read or a bad option, 3 some
rows were refused (the others are loaded; each refusal is printed with its line), 8 the
database is unreachable.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer

from tenderwire_shared.db import create_pool, migrate
from tenderwire_stack.cli.common import JsonOption, console
from tenderwire_stack.cli.exit_codes import NEEDS_ATTENTION, UNREACHABLE, USAGE
from tenderwire_stack.cli.migrate import database_url

app = typer.Typer(
    no_args_is_help=True,
    help="The code picker's titles (uses TW_MATCHING_DATABASE_URL, like the matching service)",
)

# A licensed UNSPSC list in one language is about 150,000 rows, a few megabytes.
MAX_FILE_BYTES = 200 * 1024 * 1024
SHOWN_BAD_ROWS = 50


async def _with_pool(work: str, **kwargs: Any) -> Any:
    # Imported here: the matching app pulls in FastAPI, a second on every `tw` start.
    from tenderwire_matching.bootstrap import MIGRATIONS
    from tenderwire_matching.portal.catalogue import repository, services

    pool = await create_pool(_database_url(), max_size=2)
    try:
        await migrate(pool, MIGRATIONS)
        if work == "load":
            return await services.load_licensed(pool, **kwargs)
        return [dict(r) for r in await repository.counts(pool)]
    finally:
        await pool.close()


def _database_url() -> str:
    # Only the database: the service's other settings (its portal secret) are not the
    # operator's to hold, and MatchingSettings refuses to load in production without them.
    from tenderwire_matching.settings import MatchingSettings

    return database_url(MatchingSettings)


def _run(work: str, **kwargs: Any) -> Any:
    try:
        return asyncio.run(_with_pool(work, **kwargs))
    except (OSError, asyncpg.PostgresError) as exc:
        console.print(f"[red]cannot reach the matching database:[/red] {exc}")
        raise typer.Exit(UNREACHABLE) from exc


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return path.read_text(encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        console.print(f"[red]cannot read {path}:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(USAGE) from exc


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="CSV, UTF-8: code,title[,language]")],
    scheme: Annotated[str, typer.Option(help="unspsc or cpv")],
    language: Annotated[
        str, typer.Option(help="The language of rows without one (ar en es fr pt ru zh)")
    ] = "en",
    replace: Annotated[
        bool, typer.Option(help="Drop every licensed title of the scheme not in this file")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load a licensed code list: each row replaces that code's licensed title in its language."""
    from tenderwire_matching.portal.catalogue.domain import Scheme
    from tenderwire_shared.i18n import supported

    if scheme not in ("unspsc", "cpv"):
        console.print("[red]--scheme is unspsc or cpv[/red]")
        raise typer.Exit(USAGE)
    if supported(language) != language:
        console.print("[red]--language is one of ar, en, es, fr, pt, ru, zh[/red]")
        raise typer.Exit(USAGE)
    parsed = _run(
        "load",
        scheme=Scheme(scheme),
        text=_read(file),
        default_language=language,
        replace=replace,
    )
    bad = [{"line": b.line, "reason": b.reason} for b in parsed.bad]
    if as_json:
        typer.echo(json.dumps({"scheme": scheme, "loaded": len(parsed.titles), "refused": bad}))
    else:
        console.print(f"loaded {len(parsed.titles)} {scheme} title(s) from {file}")
        for row in bad[:SHOWN_BAD_ROWS]:
            console.print(f"line {row['line']}: {row['reason']}", markup=False, highlight=False)
        if len(bad) > SHOWN_BAD_ROWS:
            console.print(f"... and {len(bad) - SHOWN_BAD_ROWS} more refused row(s)")
        if bad:
            console.print(f"[yellow]{len(bad)} row(s) refused[/yellow]")
    if bad:
        raise typer.Exit(NEEDS_ATTENTION)


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """How many codes and titles each scheme has, from notices and from licensed lists."""
    counts = _run("status")
    if as_json:
        typer.echo(json.dumps(counts))
        return
    if not counts:
        console.print("no code titles yet: none learnt from notices, no licensed list loaded")
        return
    for row in counts:
        console.print(
            f"{row['scheme']:<7} {row['source']:<9} {row['codes']:>7} codes"
            f" {row['titles']:>7} titles  languages: {' '.join(row['languages'])}",
            highlight=False,
        )
