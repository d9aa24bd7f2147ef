"""Put failed alerts back in the queue once their cause is fixed (`tw deliveries requeue`).

A delivery is 'failed' after a permanent error or when its retry horizon passed. Requeuing
gives it a fresh horizon and a fresh attempt count; its last error stays as the record of why
it failed. This module is imported by `tw`, whose start-up time matters: asyncpg and the
standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# The delivery worker listens here; the same name as in handlers.py, which is too heavy to
# import from `tw`.
WAKE_CHANNEL = "deliveries_wake"

# A later revision in one of these states has reached the supplier, or is about to: sending
# the earlier one now would tell the supplier the tender's story out of order.
_AHEAD_STATES = ("queued", "sending", "sent", "delivered")

_MATCHING_FAILED = """
SELECT d.id, d.supplier_id, d.tender_id, d.channel, d.revision,
       ahead.revision AS ahead_revision, ahead.state AS ahead_state,
       EXISTS (SELECT 1 FROM suppressions s
               WHERE s.channel = d.channel AND s.address = lower(d.address)) AS suppressed
FROM deliveries d
LEFT JOIN LATERAL (
    SELECT l.revision, l.state FROM deliveries l
    WHERE l.supplier_id = d.supplier_id AND l.tender_id = d.tender_id
      AND l.channel = d.channel AND l.revision > d.revision AND l.state = ANY($6::text[])
    ORDER BY l.revision DESC LIMIT 1
) ahead ON true
WHERE d.state = 'failed' AND d.digest_id IS NULL
  AND ($1::text IS NULL OR d.tender_id = $1)
  AND ($2::text IS NULL OR d.supplier_id = $2)
  AND ($3::timestamptz IS NULL OR d.updated_at >= $3)
  AND ($4::timestamptz IS NULL OR d.updated_at < $4)
  AND ($5::text IS NULL OR d.channel = $5)
ORDER BY d.supplier_id, d.tender_id, d.channel, d.revision
"""

# Locked so that two operators requeuing at once cannot both count the same row: the second
# waits, then sees it is no longer 'failed'.
_LOCKING = " FOR UPDATE OF d"

_REQUEUE = """
UPDATE deliveries
SET state = 'queued', attempts = 0, retry_since = now(), next_attempt_at = now(),
    updated_at = now(), claimed_by = NULL
WHERE id = ANY($1::text[])
"""


class RequeueFilterError(ValueError):
    """The filters would requeue everything, or cannot match anything (since after until)."""


@dataclass(frozen=True)
class RequeuedDelivery:
    id: str
    supplier_id: str
    tender_id: str
    channel: str
    revision: int
    # The worker will mark it 'suppressed' instead of sending it.
    to_suppressed_address: bool


@dataclass(frozen=True)
class SkippedDelivery:
    id: str
    supplier_id: str
    tender_id: str
    channel: str
    revision: int
    reason: str


@dataclass(frozen=True)
class RequeueResult:
    dry_run: bool
    requeued: tuple[RequeuedDelivery, ...]
    skipped: tuple[SkippedDelivery, ...]

    @property
    def matched(self) -> int:
        return len(self.requeued) + len(self.skipped)

    @property
    def to_suppressed(self) -> int:
        return sum(1 for d in self.requeued if d.to_suppressed_address)


def check_filters(
    tender_id: str | None, supplier_id: str | None, since: datetime | None, until: datetime | None
) -> None:
    """RequeueFilterError unless the filters choose some failed deliveries, not all."""
    # The channel alone narrows, but does not choose: "every failed SMS ever" is still all.
    if tender_id is None and supplier_id is None and since is None and until is None:
        raise RequeueFilterError(
            "name a tender, a supplier, or a time range (since/until): requeuing every failed"
            " delivery at once is refused"
        )
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.utcoffset() is None:
            raise RequeueFilterError(f"{name} {moment.isoformat()} has no time zone")
    if since is not None and until is not None and since >= until:
        raise RequeueFilterError(
            f"since {since.isoformat()} is not before until {until.isoformat()}"
        )


async def requeue_failed(
    conn: asyncpg.Connection[Any] | PoolConnectionProxy[Any],
    *,
    tender_id: str | None = None,
    supplier_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
    dry_run: bool = False,
) -> RequeueResult:
    """Requeue failed alerts (not digest entries) that match every filter given.

    `since` (inclusive) and `until` (exclusive) bound when the delivery failed. An alert whose
    later revision (same supplier, tender and channel) is sent, delivered, queued or sending
    is skipped, with the reason. With `dry_run` nothing changes: the same answer, no write.
    RequeueFilterError when no tender, supplier, since or until is given.
    """
    check_filters(tender_id, supplier_id, since, until)
    query = _MATCHING_FAILED if dry_run else _MATCHING_FAILED + _LOCKING
    async with conn.transaction(readonly=dry_run):
        rows = await conn.fetch(
            query, tender_id, supplier_id, since, until, channel, list(_AHEAD_STATES)
        )
        requeued = tuple(
            RequeuedDelivery(
                r["id"], r["supplier_id"], r["tender_id"], r["channel"], r["revision"],
                to_suppressed_address=r["suppressed"],
            )
            for r in rows
            if r["ahead_revision"] is None
        )  # fmt: skip
        skipped = tuple(
            SkippedDelivery(
                r["id"], r["supplier_id"], r["tender_id"], r["channel"], r["revision"],
                reason=f"r{r['ahead_revision']} is already {r['ahead_state']}: sending"
                f" r{r['revision']} now would deliver revisions out of order",
            )
            for r in rows
            if r["ahead_revision"] is not None
        )  # fmt: skip
        if requeued and not dry_run:
            await conn.execute(_REQUEUE, [d.id for d in requeued])
            # Delivered on commit, so the worker never wakes to rows it cannot see yet.
            await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return RequeueResult(dry_run=dry_run, requeued=requeued, skipped=skipped)
