"""Delivery failures from notify's ledger: alerts that failed for good, bounced, or are being
retried, newest first."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from tenderwire_console.suppliers import Database
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
        " d.revision, d.kind, d.channel, d.address, d.state, d.attempts, d.last_error,"
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
