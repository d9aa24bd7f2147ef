"""Notify's Kafka consumers: parse each record, then call a use case. Match events put alerts
in the delivery ledger, a whole Kafka batch in a few statements; a deactivated supplier gets
nothing more. Nothing is ever sent from here."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from tenderwire_notify import services
from tenderwire_shared.clock import Clock
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.events.matches import MATCH_EVENT_TYPES, MatchCreated
from tenderwire_shared.events.suppliers import SUPPLIER_DEACTIVATED, SupplierChanged

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
        await services.queue_alerts(conn, alerts, self._clock.now())


async def on_supplier_event(conn: Connection, event: RawEnvelope) -> None:
    """A deactivated supplier gets nothing more; other supplier events change nothing here."""
    if event.type != SUPPLIER_DEACTIVATED:
        return
    supplier_id = SupplierChanged.model_validate(event.data).supplier.supplier_id
    await services.deactivate_supplier(conn, supplier_id)
