"""Reactions to match events: put the alerts in the delivery ledger, a whole Kafka batch in a
few statements; never send from here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from tenderwire_notify import domain, repository
from tenderwire_notify.quiet_hours import deferred_until
from tenderwire_notify.repository import NewDelivery
from tenderwire_shared.clock import Clock
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope, new_event_id
from tenderwire_shared.events.matches import MATCH_EVENT_TYPES, Delivery, MatchCreated

log = structlog.get_logger()


class MatchHandler:
    """Puts each alert in the ledger, per channel; the delivery worker sends it later.

    `parse` runs per record and sends a malformed match to the dead-letter topic on its own;
    `apply` writes every good record of a batch in one transaction.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def parse(self, envelope: RawEnvelope) -> MatchCreated | None:
        if envelope.type not in MATCH_EVENT_TYPES:
            return None
        return MatchCreated.model_validate(envelope.data)

    async def apply(
        self, conn: Connection, items: Sequence[tuple[RawEnvelope, MatchCreated | None]]
    ) -> None:
        for envelope, match in items:
            if match is None:
                log.info("event_ignored", event_id=envelope.id, event_type=envelope.type)
        alerts = [(e, m) for e, m in items if m is not None]
        if not alerts:
            return
        gone = await repository.deactivated(conn, [m.recipient.supplier_id for _, m in alerts])
        now = self._clock.now()
        rows: list[NewDelivery] = []
        for envelope, match in alerts:
            if match.recipient.supplier_id in gone:
                log.info(
                    "alert_dropped", supplier_id=match.recipient.supplier_id, reason="deactivated"
                )
                continue
            rows.extend(deliveries_for(envelope, match, now))
        inserted = await repository.insert_deliveries(conn, rows)
        sequences = [(r.supplier_id, r.tender_id, r.channel) for r in inserted]
        folded = await repository.refold(conn, sequences)
        if any(r.state == "queued" for r in inserted):
            await repository.wake(conn)
        fresh = {r.id for r in inserted}
        for row in rows:
            log.info(
                "delivery_queued" if row.id in fresh else "delivery_exists",
                notification_id=row.id if row.id in fresh else None,
                channel=row.channel,
                supplier_id=row.supplier_id,
                tender_id=row.tender_id,
                correlation_id=row.correlation_id,
            )
        repository.log_folds(folded)


def channels_for(match: MatchCreated) -> list[tuple[str, str]]:
    """E-mail always; SMS as well for suppliers with a mobile who want alerts at once.

    A digest is a long read, so it goes by e-mail only.
    """
    recipient = match.recipient
    channels = [("email", recipient.email)]
    if recipient.phone and recipient.delivery is Delivery.IMMEDIATE:
        channels.append(("sms", recipient.phone))
    return channels


def deliveries_for(envelope: RawEnvelope, match: MatchCreated, now: datetime) -> list[NewDelivery]:
    recipient = match.recipient
    due = deferred_until(now, recipient.timezone, recipient.quiet_hours)
    match_json = match.model_dump_json()
    key = domain.content_key(match, language=recipient.language, timezone=recipient.timezone)
    return [
        NewDelivery(
            id=new_event_id(),
            supplier_id=recipient.supplier_id,
            tender_id=match.tender.tender_id,
            revision=match.tender.revision,
            kind=match.kind.value,
            channel=channel,
            address=address,
            language=recipient.language,
            timezone=recipient.timezone,
            match_json=match_json,
            correlation_id=envelope.correlationid,
            state=_initial_state(match, channel),
            digest_hour=recipient.digest_hour,
            next_attempt_at=due,
            # The horizon counts from when the alert is due, not from a quiet night before it.
            retry_since=due,
            content_key=key,
            recipient_name=recipient.legal_name,
        )
        for channel, address in channels_for(match)
    ]


def _initial_state(match: MatchCreated, channel: str) -> str:
    digest = match.recipient.delivery is Delivery.DAILY_DIGEST and channel == "email"
    return "batched" if digest else "queued"
