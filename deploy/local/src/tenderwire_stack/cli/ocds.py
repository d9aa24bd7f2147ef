"""`tw ocds`: OCDS loaded into notices' database, once (`import`) or on a schedule (`feed`).

`tw ocds import --agency CODE FILE|URL` imports a file's or a URL's releases as the import
route does and prints its report. `tw ocds feed set CODE URL` gives the agency a feed that the
notices service pulls (its FeedPoller: follows `links.next`, resumes where it stopped);
`tw ocds feed status` shows how each feed's pulls went; `tw ocds feed remove CODE` stops one.

Exit codes (see exit_codes.py): 0 done; 1 unknown agency or feed, or the source is no OCDS
(nothing imported); 3 some releases failed (the report says why); 8 the database is
unreachable.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import asyncpg
import typer
from rich.table import Table

from tenderwire_notices.domain import AgencyError
from tenderwire_shared.db import create_pool, migrate
from tenderwire_stack.cli.common import JsonOption, console, errors, printable
from tenderwire_stack.cli.exit_codes import NEEDS_ATTENTION, NOT_FOUND, OK, UNREACHABLE, USAGE

if TYPE_CHECKING:
    from tenderwire_notices.ocds.schemas import ImportReport

T = TypeVar("T")

app = typer.Typer(
    no_args_is_help=True,
    help="OCDS imports and feeds (uses TW_NOTICES_DATABASE_URL, like the notices service)",
)
feed_app = typer.Typer(no_args_is_help=True, help="An agency's OCDS feed, pulled on a schedule")
app.add_typer(feed_app, name="feed")


def _run(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """`work` on a pool of notices' (migrated) database; unknown agencies exit 1, an
    unreachable database 8."""
    # Imported here: the notices app pulls in FastAPI and OCDS, a second on every `tw` start.
    from tenderwire_notices.bootstrap import MIGRATIONS
    from tenderwire_notices.settings import NoticesSettings

    async def with_pool() -> T:
        pool = await create_pool(NoticesSettings().database_url, max_size=2)
        try:
            await migrate(pool, MIGRATIONS)
            return await work(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(with_pool())
    except AgencyError as exc:
        errors.print(f"[red]{printable(str(exc))}[/red]")
        raise typer.Exit(NOT_FOUND) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        errors.print(f"[red]cannot reach the notices database:[/red] {printable(str(exc))}")
        raise typer.Exit(UNREACHABLE) from exc


@app.command("import")
def import_command(
    source: Annotated[str, typer.Argument(help="A file, or an http(s) URL", metavar="FILE|URL")],
    agency: Annotated[str, typer.Option("--agency", help="The agency the notices belong to")],
    as_json: JsonOption = False,
) -> None:
    """Import the releases of an OCDS file or URL once, and print the import report."""
    from tenderwire_notices import feeds, repository, services
    from tenderwire_notices.ocds import services as ocds_services
    from tenderwire_notices.settings import NoticesSettings
    from tenderwire_shared import topics
    from tenderwire_shared.clock import SystemClock

    settings = NoticesSettings()
    try:
        releases = asyncio.run(feeds.load(source, settings.feed_limits()))
    except feeds.FeedError as exc:
        errors.print(f"[red]nothing imported from {printable(source)}: {printable(str(exc))}[/red]")
        raise typer.Exit(NOT_FOUND) from exc

    async def work(pool: asyncpg.Pool) -> ImportReport:
        if not await repository.agency_exists(pool, agency):
            raise AgencyError(f"no agency {agency!r}")
        ctx = services.Context(
            tenders_topic=settings.topic(topics.TENDERS),
            public_base_url=settings.public_base_url,
            clock=SystemClock(),
        )
        async with pool.acquire() as conn:
            return await ocds_services.import_releases(conn, ctx, agency, releases)

    report = _run(work)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        _print_report(report)
    raise typer.Exit(NEEDS_ATTENTION if report.counts.failed else OK)


def _print_report(report: ImportReport) -> None:
    table = Table("release", "ocid", "outcome", "notice", "notes")
    for entry in report.releases:
        table.add_row(
            printable(entry.release_id),
            printable(entry.ocid),
            entry.outcome.value,
            printable(entry.notice_id),
            printable(" | ".join(entry.notes), limit=400),
        )
    console.print(table)
    c = report.counts
    console.print(
        f"{c.imported} imported, {c.skipped} skipped, {c.already_imported} already imported,"
        f" {c.failed} failed"
    )


@feed_app.command("set")
def set_feed(
    agency: Annotated[str, typer.Argument(help="The agency's code")],
    url: Annotated[str, typer.Argument(help="The feed's first page (http or https)")],
    as_json: JsonOption = False,
) -> None:
    """Give an agency a feed URL, due now. A different URL starts from its first page; the same
    URL again keeps where the poller stopped and clears its backoff."""
    from urllib.parse import urlsplit

    from tenderwire_notices import repository
    from tenderwire_shared.clock import SystemClock

    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        errors.print(f"[red]not an http(s) URL: {printable(url)}[/red]")
        raise typer.Exit(USAGE)

    async def work(pool: asyncpg.Pool) -> None:
        await repository.set_feed(pool, agency, url, SystemClock().now())

    _run(work)
    if as_json:
        typer.echo(json.dumps({"agency": agency, "url": url}))
    else:
        console.print(f"{printable(agency)}'s feed is {printable(url)}; the poller pulls it next")


@feed_app.command("remove")
def remove_feed(agency: str, as_json: JsonOption = False) -> None:
    """Stop pulling an agency's feed (what it imported stays)."""
    from tenderwire_notices import repository

    async def work(pool: asyncpg.Pool) -> bool:
        return await repository.remove_feed(pool, agency)

    removed = _run(work)
    if as_json:
        typer.echo(json.dumps({"agency": agency, "removed": removed}))
    elif removed:
        console.print(f"{printable(agency)}'s feed is no longer pulled")
    if not removed:
        errors.print(f"[red]{printable(agency)} has no feed[/red]")
        raise typer.Exit(NOT_FOUND)


@feed_app.command("status")
def feed_status(as_json: JsonOption = False) -> None:
    """Each agency's feed: last fetch, pages and releases read, the last error, the next try
    (what the console's OCDS feeds page shows)."""
    from tenderwire_console.read_models.ocds_feeds import FeedStatus, feed_statuses

    async def work(pool: asyncpg.Pool) -> list[FeedStatus]:
        return await feed_statuses(pool)

    rows = _run(work)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False))
        return
    table = Table("agency", "resumes at", "pages", "releases", "imported", "last fetch")
    table.add_column("failures")
    table.add_column("last error")
    table.add_column("next try")
    for r in rows:
        table.add_row(
            printable(r.agency),
            printable(r.resume_url or r.url),
            str(r.pages),
            str(r.releases),
            str(r.releases_imported),
            r.last_fetch_at.isoformat() if r.last_fetch_at else "never",
            str(r.failures),
            printable(r.last_error) or "-",
            r.next_try_at.isoformat(),
        )
    console.print(table)
