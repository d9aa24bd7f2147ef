"""Writes one match and its event per supplier and alert, once: the matches table's unique key
(supplier, tender, revision, kind) is what makes a replayed tender event alert nobody twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic_core import to_json

from tenderwire_matching import registry
from tenderwire_matching.match_events import Cause, MatchEvents
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.events.matches import MatchKind
from tenderwire_shared.events.tenders import TenderSnapshot
from tenderwire_shared.outbox import add_rows_to_outbox


@dataclass(frozen=True)
class Alert:
    supplier_id: str
    kind: MatchKind
    matched_codes: tuple[str, ...] = ()
    still_matches: bool = True


async def send(
    conn: Connection,
    alerts: Sequence[Alert],
    cause: Cause,
    *,
    topic: str,
    ldc_first: bool,
) -> int:
    """Record and announce `alerts`; returns how many were new. LDC suppliers go first.

    A few statements whatever the number of alerts: the suppliers, the matches, the events.
    """
    if not alerts:
        return 0
    suppliers = await registry.contact_rows(
        conn, list(dict.fromkeys(a.supplier_id for a in alerts))
    )
    recipients = {r["id"]: registry.recipient(r) for r in suppliers if r["active"]}
    ordered = sorted(
        (a for a in alerts if a.supplier_id in recipients),
        key=lambda a: not (ldc_first and recipients[a.supplier_id].least_developed),
    )
    match_ids = [new_event_id() for _ in ordered]
    created = await _record(conn, list(zip(match_ids, ordered, strict=True)), cause.tender)
    # The outbox's order is the order suppliers hear in, so it follows `ordered`, not the
    # order the database happened to return the new rows in.
    events = MatchEvents(cause)
    rows = [
        events.row(
            match_id=match_id,
            kind=alert.kind,
            recipient=recipients[alert.supplier_id],
            matched_codes=alert.matched_codes,
            still_matches=alert.still_matches,
        )
        for match_id, alert in zip(match_ids, ordered, strict=True)
        if match_id in created
    ]
    await add_rows_to_outbox(conn, topic=topic, rows=rows)
    return len(rows)


async def _record(
    conn: Connection, matches: Sequence[tuple[str, Alert]], tender: TenderSnapshot
) -> set[str]:
    """Insert the matches not made before; returns the ids of those that are new."""
    # Codes travel as JSON text: unnest cannot take a ragged two-dimensional array.
    rows = await conn.fetch(
        "INSERT INTO matches (id, supplier_id, tender_id, revision, kind, codes, still_matches)"
        " SELECT m.id, m.supplier_id, $5, $6, m.kind,"
        " ARRAY(SELECT jsonb_array_elements_text(m.codes::jsonb)), m.still_matches"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $7::boolean[])"
        " AS m(id, supplier_id, kind, codes, still_matches)"
        " ON CONFLICT DO NOTHING RETURNING id",
        [match_id for match_id, _ in matches],
        [alert.supplier_id for _, alert in matches],
        [alert.kind.value for _, alert in matches],
        [to_json(alert.matched_codes).decode() for _, alert in matches],
        tender.tender_id,
        tender.revision,
        [alert.still_matches for _, alert in matches],
    )
    return {r["id"] for r in rows}


async def alerted_suppliers(conn: Connection, tender_id: str) -> set[str]:
    """Suppliers told about this tender at any revision: they hear about what happens next."""
    records = await conn.fetch(
        "SELECT DISTINCT supplier_id FROM matches WHERE tender_id = $1", tender_id
    )
    return {r["supplier_id"] for r in records}
