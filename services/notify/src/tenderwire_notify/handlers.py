"""Notify's Kafka interface and consumers: parse each record, then call a use case. Match
events put alerts in the delivery ledger, a whole Kafka batch in a few statements; a deactivated
supplier gets nothing more, and an erased one is forgotten; account messages (verification
links and codes, sign-in links) go in the ledger to be sent at once. Nothing is ever sent
from here.

`INTERFACE` declares what notify consumes, once: `bootstrap` runs a consumer per subscription,
and the AsyncAPI document is made from the same declarations.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from tenderwire_notify import services
from tenderwire_notify.settings import ACCOUNTS_GROUP, MATCHES_GROUP, SUPPLIERS_GROUP
from tenderwire_shared import topics
from tenderwire_shared.broker import KafkaInterface, Subscription
from tenderwire_shared.clock import Clock, SystemClock
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, RawEnvelope
from tenderwire_shared.events.accounts import ACCOUNT_MESSAGE, AccountMessage
from tenderwire_shared.events.matches import MATCH_EVENT_TYPES, MatchCreated
from tenderwire_shared.events.suppliers import (
    SUPPLIER_DEACTIVATED,
    SUPPLIER_ERASED,
    SUPPLIER_UPDATED,
    SupplierChanged,
    SupplierErased,
)

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
        "Supplier changes. supplier.deactivated and supplier.erased: the supplier's waiting"
        " alerts are suppressed and later ones dropped, and an erased supplier's contact"
        " details are erased from the ledger, digests and suppressions. supplier.updated"
        " with a pause: its waiting alerts are suppressed."
    ),
)
ACCOUNT_MESSAGES = Subscription(
    topic=topics.ACCOUNT_MESSAGES,
    group=ACCOUNTS_GROUP,
    message=Envelope[AccountMessage],
    description=(
        "account.message from the portal: a verification link, a phone's verification code"
        " or a sign-in link, sent at once (no quiet hours, digest or pause), once per"
        " message_id, never after expires_at, to unverified addresses too."
    ),
)
INTERFACE = KafkaInterface(
    title="Tenderwire notify",
    description=(
        "Sends each match to its supplier once, by e-mail and SMS, through the delivery ledger."
        " Notify publishes nothing on Kafka."
    ),
    subscriptions=(MATCHES, SUPPLIERS, ACCOUNT_MESSAGES),
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


class SupplierHandler:
    """A deactivated supplier gets nothing more; an erased one is forgotten as well; a pause
    (on an updated supplier) holds back the alerts already waiting. Other supplier events
    change nothing here."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, conn: Connection, event: RawEnvelope) -> None:
        if event.type == SUPPLIER_ERASED:
            erased = SupplierErased.model_validate(event.data)
            await services.erase_supplier(conn, erased.supplier_id, erased.erased_at)
        elif event.type == SUPPLIER_UPDATED:
            supplier = SupplierChanged.model_validate(event.data).supplier
            await services.withhold_while_paused(conn, [supplier], self._clock.now())
        elif event.type == SUPPLIER_DEACTIVATED:
            supplier_id = SupplierChanged.model_validate(event.data).supplier.supplier_id
            await services.deactivate_supplier(conn, supplier_id)


on_supplier_event = SupplierHandler(SystemClock())
"""The supplier handler on the system clock."""


class AccountMessageHandler:
    """Puts each account message in the ledger; the delivery worker sends it at once."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, conn: Connection, event: RawEnvelope) -> None:
        if event.type != ACCOUNT_MESSAGE:
            log.info("event_ignored", event_id=event.id, event_type=event.type)
            return
        message = AccountMessage.model_validate(event.data)
        await services.queue_account_message(conn, event, message, self._clock.now())
