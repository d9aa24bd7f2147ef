"""`tw deliveries requeue`: send failed alerts again once the cause is fixed.

Writes to notify's database (TW_NOTIFY_DATABASE_URL, or TW_CONSOLE_NOTIFY_DATABASE_URL, which
wins: point it at the primary, not a replica). Exit codes are those of `exit_codes.py`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import asyncpg
import typer
from rich.markup import escape
from rich.table import Table

from tenderwire_stack.cli.common import JsonOption, console, console_settings, errors
from tenderwire_stack.cli.exit_codes import NEEDS_ATTENTION, NOT_FOUND, OK, UNREACHABLE, USAGE

if TYPE_CHECKING:
    from tenderwire_notify.services import RequeueResult

app = typer.Typer(no_args_is_help=True, help="Notify's delivery ledger: requeue failed alerts")

# Bounds a connection attempt to a host that drops packets instead of refusing.
CONNECT_TIMEOUT_S = 10.0

# A requeue that cannot be written at all: a read-only replica, or a role without UPDATE.
_REFUSED = (
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.InsufficientPrivilegeError,
)
_UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time; one without a zone is UTC, as every time `tw` prints is."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or time (2026-12-01 or 2026-12-01T09:30Z)",
            param_hint=option,
        ) from exc
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


async def _requeue(
    dsn: str,
    *,
    tender_id: str | None,
    supplier_id: str | None,
    since: datetime | None,
    until: datetime | None,
    channel: str | None,
    dry_run: bool,
) -> RequeueResult:
    from tenderwire_notify.domain import check_requeue_filters
    from tenderwire_notify.services import requeue_failed

    check_requeue_filters(
        tender_id, supplier_id, since, until
    )  # before connecting: usage comes first
    conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    try:
        return await requeue_failed(
            conn,
            tender_id=tender_id,
            supplier_id=supplier_id,
            since=since,
            until=until,
            channel=channel,
            dry_run=dry_run,
        )
    finally:
        await conn.close()


def _show(result: RequeueResult) -> None:
    verb = "would requeue" if result.dry_run else "requeued"
    console.print(
        f"[bold]{verb} {len(result.requeued)} of {result.matched} matching failed"
        f" deliver{'y' if result.matched == 1 else 'ies'}[/bold]",
        highlight=False,
    )
    groups: dict[tuple[str, str, str], int] = {}
    for d in result.requeued:
        key = (d.tender_id, d.supplier_id, d.channel)
        groups[key] = groups.get(key, 0) + 1
    if groups:
        table = Table("tender", "supplier", "channel", "alerts")
        for (tender_id, supplier_id, channel), count in sorted(groups.items()):
            table.add_row(escape(tender_id), escape(supplier_id), channel, str(count))
        console.print(table)
    if result.to_suppressed:
        console.print(
            f"[yellow]{result.to_suppressed} of them go to suppressed addresses (bounced or"
            " unsubscribed): the worker marks those 'suppressed' and sends nothing[/yellow]",
            highlight=False,
        )
    for s in result.skipped:
        console.print(
            f"[yellow]skipped[/yellow] {escape(s.tender_id)} / {escape(s.supplier_id)}"
            f" {s.channel} r{s.revision}: {escape(s.reason)}",
            highlight=False,
        )


def _as_json(result: RequeueResult) -> str:
    return json.dumps(
        {
            "dry_run": result.dry_run,
            "matched": result.matched,
            "to_suppressed": result.to_suppressed,
            "requeued": [asdict(d) for d in result.requeued],
            "skipped": [asdict(s) for s in result.skipped],
        },
        indent=2,
    )


@app.command("requeue")
def requeue(
    tender: Annotated[str | None, typer.Option("--tender", help="Only this tender's")] = None,
    supplier: Annotated[str | None, typer.Option("--supplier", help="Only this supplier's")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Failed at or after (ISO 8601; UTC if no zone)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Failed before (ISO 8601; UTC if no zone)")
    ] = None,
    channel: Annotated[Channel | None, typer.Option("--channel", help="Only this channel")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be requeued; change nothing")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue failed alerts again, with a fresh retry horizon, and wake the delivery worker.

    Needs --tender, --supplier, --since or --until (--channel only narrows). Digest entries
    are not requeued. An alert whose later revision is already sent, delivered or on its way
    is skipped: sending it now would tell the story out of order.

    Exit 0 requeued (or, with --dry-run, would requeue) at least one; 1 no failed delivery
    matched, or the database refused the write (a read-only replica); 2 usage (no filter, a
    bad date); 3 some matched but every one was skipped; 8 the database could not be reached.
    """
    from tenderwire_notify.domain import RequeueFilterError

    dsn = console_settings().notify_database_url
    try:
        result = asyncio.run(
            _requeue(
                dsn,
                tender_id=tender,
                supplier_id=supplier,
                since=_moment(since, "--since"),
                until=_moment(until, "--until"),
                channel=channel.value if channel else None,
                dry_run=dry_run,
            )
        )
    except RequeueFilterError as exc:
        errors.print(f"tw deliveries requeue: {exc}", markup=False, highlight=False)
        raise typer.Exit(USAGE) from exc
    except _REFUSED as exc:
        errors.print(
            f"tw deliveries requeue: the database refused the write: {exc}. Point"
            " TW_NOTIFY_DATABASE_URL (or TW_CONSOLE_NOTIFY_DATABASE_URL) at notify's primary"
            " with a role that may update deliveries.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(NOT_FOUND) from exc
    except _UNREACHABLE as exc:
        # The message names host and port, never the URL: it may carry a password.
        errors.print(
            f"tw deliveries requeue: cannot reach notify's database: {exc}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(UNREACHABLE) from exc
    if as_json:
        typer.echo(_as_json(result))
    else:
        _show(result)
    if result.matched == 0:
        if not as_json:
            errors.print("tw deliveries requeue: no failed delivery matches", highlight=False)
        raise typer.Exit(NOT_FOUND)
    raise typer.Exit(OK if result.requeued else NEEDS_ATTENTION)
