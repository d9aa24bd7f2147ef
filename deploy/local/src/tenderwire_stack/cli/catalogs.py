"""`tw catalogs update` and `tw catalogs check`: the gettext catalogs of every package a
supplier reads (today notify; the supplier portal adds its own), built with Babel."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from tenderwire_shared.i18n import catalogs as babel_catalogs
from tenderwire_stack.cli import exit_codes
from tenderwire_stack.cli.common import console

app = typer.Typer(no_args_is_help=True, help="Translations: extract, merge, compile, check")

# Each package whose templates and code hold words a supplier reads.
TRANSLATED_PACKAGES = ("tenderwire_notify", "tenderwire_notices")


def catalog_sources(
    packages: tuple[str, ...] = TRANSLATED_PACKAGES,
) -> list[babel_catalogs.CatalogSource]:
    return [babel_catalogs.CatalogSource(Path(str(files(p)))) for p in packages]


@app.command("update")
def update(
    package: Annotated[str | None, typer.Option(help="Only this package")] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Only this language (repeatable)")
    ] = None,
) -> None:
    """Extract every message, merge it into each language's .po, and compile the .mo.

    New messages arrive untranslated: `tw catalogs check` names them until a translator
    fills them in."""
    for source in catalog_sources((package,) if package else TRANSLATED_PACKAGES):
        for path in babel_catalogs.update(source, language or None):
            console.print(f"wrote {path}")


@app.command("check")
def check(
    package: Annotated[str | None, typer.Option(help="Only this package")] = None,
) -> None:
    """Exit 3 naming each untranslated, fuzzy, stale or uncompiled message, or a translation
    that drops a placeholder or a plural form."""
    problems = [
        problem
        for source in catalog_sources((package,) if package else TRANSLATED_PACKAGES)
        for problem in babel_catalogs.check(source)
    ]
    for problem in problems:
        console.print(problem, markup=False, highlight=False)
    if problems:
        console.print(f"[red]{len(problems)} problem(s)[/red]")
        raise typer.Exit(exit_codes.NEEDS_ATTENTION)
    console.print("catalogs complete and current")
