"""Reactions to match events: put the alert in the delivery ledger, never send from here."""

from __future__ import annotations

from datetime import datetime

import structlog

from tenderwire_notify.quiet_hours import deferred_until
from tenderwire_notify.supplier_events import is_deactivated
from tenderwire_shared.clock import Clock
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope, new_event_id
from tenderwire_shared.events.matches import MATCH_EVENT_TYPES, Delivery, MatchCreated

log = structlog.get_logger()

WAKE_CHANNEL = "deliveries_wake"


class MatchHandler:
    """Puts each alert in the ledger, per channel; the delivery worker sends it later."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, conn: Connection, event: RawEnvelope) -> None:
        if event.type not in MATCH_EVENT_TYPES:
            log.info("event_ignored", event_id=event.id, event_type=event.type)
            return
        match = MatchCreated.model_validate(event.data)
        recipient = match.recipient
        if await is_deactivated(conn, recipient.supplier_id):
            log.info("alert_dropped", supplier_id=recipient.supplier_id, reason="deactivated")
            return
        due = deferred_until(self._clock.now(), recipient.timezone, recipient.quiet_hours)
        for channel, address in channels_for(match):
            await _queue(conn, event, match, channel, address, due)


def channels_for(match: MatchCreated) -> list[tuple[str, str]]:
    """E-mail always; SMS as well for suppliers with a mobile who want alerts at once.

    A digest is a long read, so it goes by e-mail only.
    """
    recipient = match.recipient
    channels = [("email", recipient.email)]
    if recipient.phone and recipient.delivery is Delivery.IMMEDIATE:
        channels.append(("sms", recipient.phone))
    return channels


def _initial_state(match: MatchCreated, channel: str) -> str:
    digest = match.recipient.delivery is Delivery.DAILY_DIGEST and channel == "email"
    return "batched" if digest else "queued"


async def _queue(
    conn: Connection,
    event: RawEnvelope,
    match: MatchCreated,
    channel: str,
    address: str,
    due: datetime,
) -> None:
    delivery_id = new_event_id()
    queued = await conn.fetchval(
        "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
        " language, timezone, match, correlation_id, state, digest_hour, next_attempt_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
        " ON CONFLICT DO NOTHING RETURNING true",
        delivery_id,
        match.recipient.supplier_id,
        match.tender.tender_id,
        match.tender.revision,
        match.kind.value,
        channel,
        address,
        match.recipient.language,
        match.recipient.timezone,
        match.model_dump_json(),
        event.correlationid,
        _initial_state(match, channel),
        match.recipient.digest_hour,
        due,
    )
    if queued:
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    log.info(
        "delivery_queued" if queued else "delivery_exists",
        notification_id=delivery_id if queued else None,
        channel=channel,
        supplier_id=match.recipient.supplier_id,
        tender_id=match.tender.tender_id,
        correlation_id=event.correlationid,
    )
