"""Writes one match and its event per supplier and alert, once: the matches table's unique key
(supplier, tender, revision, kind) is what makes a replayed tender event alert nobody twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from tenderwire_matching import registry
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.events.tenders import FieldChange, TenderSnapshot
from tenderwire_shared.outbox import add_to_outbox

SOURCE = "tenderwire/matching"


@dataclass(frozen=True)
class Alert:
    supplier_id: str
    kind: MatchKind
    matched_codes: tuple[str, ...] = ()
    still_matches: bool = True


@dataclass(frozen=True)
class Cause:
    """Why the alerts are sent: the tender as it now stands, and the event that changed it."""

    tender: TenderSnapshot
    correlation_id: str | None
    causation_id: str | None
    changes: tuple[FieldChange, ...] = ()
    reason: str | None = None


async def send(
    conn: Connection,
    alerts: Sequence[Alert],
    cause: Cause,
    *,
    topic: str,
    ldc_first: bool,
) -> int:
    """Record and announce `alerts`; returns how many were new. LDC suppliers go first."""
    if not alerts:
        return 0
    suppliers = {r["id"]: r for r in await registry.rows(conn, [a.supplier_id for a in alerts])}
    ordered = sorted(
        (a for a in alerts if a.supplier_id in suppliers and suppliers[a.supplier_id]["active"]),
        key=lambda a: (
            not (ldc_first and registry.recipient(suppliers[a.supplier_id]).least_developed)
        ),
    )
    sent = 0
    for alert in ordered:
        if await _send_one(conn, alert, suppliers[alert.supplier_id], cause, topic):
            sent += 1
    return sent


async def _send_one(
    conn: Connection, alert: Alert, supplier: asyncpg.Record, cause: Cause, topic: str
) -> bool:
    match_id = new_event_id()
    created = await conn.fetchval(
        "INSERT INTO matches (id, supplier_id, tender_id, revision, kind, codes, still_matches)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true",
        match_id,
        alert.supplier_id,
        cause.tender.tender_id,
        cause.tender.revision,
        alert.kind.value,
        list(alert.matched_codes),
        alert.still_matches,
    )
    if not created:
        return False
    event = Envelope[MatchCreated](
        type=f"match.{alert.kind.value}",
        source=SOURCE,
        subject=alert.supplier_id,
        correlationid=cause.correlation_id,
        causationid=cause.causation_id,
        data=MatchCreated(
            match_id=match_id,
            kind=alert.kind,
            recipient=registry.recipient(supplier),
            tender=cause.tender,
            matched_codes=alert.matched_codes,
            changes=cause.changes,
            reason=cause.reason,
            still_matches=alert.still_matches,
        ),
    )
    await add_to_outbox(conn, topic=topic, key=alert.supplier_id, event=event)
    return True


async def alerted_suppliers(conn: Connection, tender_id: str) -> set[str]:
    """Suppliers told about this tender at any revision: they hear about what happens next."""
    records = await conn.fetch(
        "SELECT DISTINCT supplier_id FROM matches WHERE tender_id = $1", tender_id
    )
    return {r["supplier_id"] for r in records}
