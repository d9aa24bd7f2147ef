"""Reactions to match events: put the alert in the delivery ledger, never send from here."""

from __future__ import annotations

import structlog

from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope, new_event_id
from tenderwire_shared.events.matches import MATCH_EVENT_TYPES, MatchCreated

log = structlog.get_logger()

WAKE_CHANNEL = "deliveries_wake"


async def on_match(conn: Connection, event: RawEnvelope) -> None:
    if event.type not in MATCH_EVENT_TYPES:
        log.info("event_ignored", event_id=event.id, event_type=event.type)
        return
    match = MatchCreated.model_validate(event.data)
    delivery_id = new_event_id()
    queued = await conn.fetchval(
        "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
        " language, timezone, match, correlation_id)"
        " VALUES ($1,$2,$3,$4,$5,'email',$6,$7,$8,$9,$10)"
        " ON CONFLICT DO NOTHING RETURNING true",
        delivery_id,
        match.recipient.supplier_id,
        match.tender.tender_id,
        match.tender.revision,
        match.kind.value,
        match.recipient.email,
        match.recipient.language,
        match.recipient.timezone,
        match.model_dump_json(),
        event.correlationid,
    )
    if queued:
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    log.info(
        "delivery_queued" if queued else "delivery_exists",
        notification_id=delivery_id if queued else None,
        supplier_id=match.recipient.supplier_id,
        tender_id=match.tender.tender_id,
        correlation_id=event.correlationid,
    )
