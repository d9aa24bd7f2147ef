"""Delivery failures from notify's ledger: alerts that failed for good, bounced, or are being
retried, newest first."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from tenderwire_console.read_models.sql import Database
from tenderwire_shared.masking import mask_address, mask_contacts


class Problem(StrEnum):
    BOUNCED = "bounced"  # failed, and the address is now suppressed
    FAILED = "failed"
    RETRYING = "retrying"  # still queued (or being sent) after a failed attempt


class FailedDelivery(BaseModel):
    id: str
    problem: Problem
    supplier_id: str
    tender_id: str
    revision: int
    kind: str
    channel: str
    address: str
    state: str
    attempts: int
    last_error: str | None
    digest_id: str | None
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime


# A suppression whose reason is an unsubscribe is the supplier's choice, not a bounce.
_PROBLEM = """CASE
    WHEN d.state = 'failed' AND s.reason IS NOT NULL AND s.reason <> 'unsubscribed'
        THEN 'bounced'
    WHEN d.state = 'failed' THEN 'failed'
    ELSE 'retrying' END"""
_TROUBLED = (
    "(d.state = 'failed' OR (d.state IN ('queued', 'sending') AND d.last_error IS NOT NULL))"
)
_SUPPRESSION = "LEFT JOIN suppressions s ON s.channel = d.channel AND s.address = lower(d.address)"


async def failed_deliveries(
    notify: Database, *, problem: Problem | None = None, limit: int = 200
) -> list[FailedDelivery]:
    rows = await notify.fetch(
        f"SELECT * FROM (SELECT d.id, {_PROBLEM} AS problem, d.supplier_id, d.tender_id,"  # noqa: S608 - constant SQL
        " d.revision, d.kind, d.channel, d.address, d.state, d.attempts, d.last_error, d.digest_id,"
        f" d.next_attempt_at, d.created_at, d.updated_at FROM deliveries d {_SUPPRESSION}"
        f" WHERE {_TROUBLED}) troubled WHERE $1::text IS NULL OR problem = $1"
        " ORDER BY updated_at DESC LIMIT $2",
        problem.value if problem else None,
        limit,
    )
    return [
        FailedDelivery.model_validate(
            {
                **dict(r),
                "address": mask_address(r["address"]),
                "last_error": r["last_error"] and mask_contacts(r["last_error"]),
            }
        )
        for r in rows
    ]


async def failure_counts(notify: Database, *, since: timedelta) -> dict[Problem, int]:
    """Troubled deliveries touched within `since`, by problem; every problem has an entry."""
    rows = await notify.fetch(
        f"SELECT {_PROBLEM} AS problem, count(*) AS n FROM deliveries d {_SUPPRESSION}"  # noqa: S608 - constant SQL
        f" WHERE {_TROUBLED} AND d.updated_at > now() - $1::interval GROUP BY 1",
        since,
    )
    counts = dict.fromkeys(Problem, 0)
    counts.update({Problem(r["problem"]): r["n"] for r in rows})
    return counts


@dataclass(frozen=True)
class RequeueGroup:
    """One tender's failed alerts to one supplier, and the `tw` line that requeues them."""

    tender_id: str
    supplier_id: str
    failed: int
    command: str


def requeue_command(tender_id: str, supplier_id: str) -> str:
    # Ids come from agencies and registrations: quoted, so a pasted line runs nothing else.
    return (
        f"tw deliveries requeue --tender {shlex.quote(tender_id)}"
        f" --supplier {shlex.quote(supplier_id)}"
    )


def requeue_groups(rows: list[FailedDelivery]) -> list[RequeueGroup]:
    """The groups among `rows` that `tw deliveries requeue` would act on, newest first.

    Digest entries are not requeued one by one, and a group that only bounced would only be
    marked suppressed again, so neither gets a line.
    """
    failed: dict[tuple[str, str], int] = {}
    worth_sending: set[tuple[str, str]] = set()
    for row in rows:  # newest first, and a dict keeps the order keys were first seen in
        if row.state == "failed" and row.digest_id is None:
            key = (row.tender_id, row.supplier_id)
            failed[key] = failed.get(key, 0) + 1
            if row.problem is not Problem.BOUNCED:
                worth_sending.add(key)
    return [
        RequeueGroup(tender_id, supplier_id, count, requeue_command(tender_id, supplier_id))
        for (tender_id, supplier_id), count in failed.items()
        if (tender_id, supplier_id) in worth_sending
    ]
