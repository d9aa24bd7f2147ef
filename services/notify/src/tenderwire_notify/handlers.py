"""Notify's Kafka interface and consumers: parse each record, then call a use case. Match
events put alerts in the delivery ledger, a whole Kafka batch in a few statements; a deactivated
supplier gets nothing more. Nothing is ever sent from here.

`INTERFACE` declares what notify consumes, once: `bootstrap` runs a consumer per subscription,
and the AsyncAPI document is made from the same declarations.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from tenderwire_notify import services
from tenderwire_notify.settings import MATCHES_GROUP, SUPPLIERS_GROUP
from tenderwire_shared import topics
from tenderwire_shared.broker import KafkaInterface, Subscription
from tenderwire_shared.clock import Clock
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, RawEnvelope
from tenderwire_shared.events.matches import MATCH_EVENT_TYPES, MatchCreated
from tenderwire_shared.events.suppliers import SUPPLIER_DEACTIVATED, SupplierChanged

log = structlog.get_logger()

MATCHES = Subscription(
    topic=topics.MATCHES,
    group=MATCHES_GROUP,
    message=Envelope[MatchCreated],
    description=(
        "Each alert matching decided on: match.new, match.amended, match.cancelled. Read in"
        " batches: a poll's alerts go in the delivery ledger in one transaction, per channel,"
        " folded with what still waits for the same supplier and tender."
    ),
    batched=True,
)
SUPPLIERS = Subscription(
    topic=topics.SUPPLIERS,
    group=SUPPLIERS_GROUP,
    message=Envelope[SupplierChanged],
    description=(
        "Supplier changes; only supplier.deactivated matters here: the supplier's waiting"
        " alerts are suppressed and later ones dropped."
    ),
)
INTERFACE = KafkaInterface(
    title="Tenderwire notify",
    description=(
        "Sends each match to its supplier once, by e-mail and SMS, through the delivery ledger."
        " Notify publishes nothing on Kafka."
    ),
    subscriptions=(MATCHES, SUPPLIERS),
)


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
