"""Matching's Kafka interface, declared once (bootstrap runs it, `make contracts` documents it),
and its consumer: each tender event is parsed and handed to `services.match_tender`, inside
the inbox transaction of its event."""

from __future__ import annotations

import structlog

from tenderwire_matching import services
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.settings import TENDERS_GROUP
from tenderwire_shared import topics
from tenderwire_shared.broker import KafkaInterface, Publication, Subscription
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, RawEnvelope
from tenderwire_shared.events.accounts import AccountMessage
from tenderwire_shared.events.matches import MatchCreated
from tenderwire_shared.events.suppliers import SupplierChanged, SupplierErased
from tenderwire_shared.events.tenders import EVENT_MODELS, TenderEventData

log = structlog.get_logger()

TENDERS = Subscription(
    topic=topics.TENDERS,
    group=TENDERS_GROUP,
    message=Envelope[TenderEventData],
    description=(
        "Every change of a tender. tender.published is matched against the registry;"
        " tender.amended and tender.cancelled reach every supplier alerted before (and an"
        " amendment, whoever matches only now); tender.closed and tender.awarded are"
        " remembered and alert no one. A revision older than one already seen is skipped."
    ),
)

INTERFACE = KafkaInterface(
    title="Tenderwire matching",
    description=(
        "The registry of eligible suppliers, and the engine that matches tenders; both write"
        " through a transactional outbox."
    ),
    subscriptions=(TENDERS,),
    publications=(
        Publication(
            topic=topics.MATCHES,
            message=Envelope[MatchCreated],
            description=(
                "One alert to one supplier about one tender revision: match.new, match.amended,"
                " match.cancelled. Keyed by supplier id; a tender's alerts to suppliers in"
                " least developed countries are queued first."
            ),
        ),
        Publication(
            topic=topics.SUPPLIERS,
            message=Envelope[SupplierChanged | SupplierErased],
            description=(
                "Every change of a supplier's profile: supplier.registered, supplier.updated,"
                " supplier.deactivated. Keyed by supplier id; `version` goes up with each."
                " A contact becoming verified, or a further contact added or removed in the"
                " portal, is a supplier.updated too. supplier.erased (SupplierErased) is the"
                " last event of a key whose account was deleted, with no contact detail: each"
                " reader erases the supplier's contacts it holds."
            ),
        ),
        Publication(
            topic=topics.ACCOUNT_MESSAGES,
            message=Envelope[AccountMessage],
            description=(
                "account.message: one message for notify to send at once about a supplier's"
                " account (a verification link, a phone code, a sign-in link), written by the"
                " portal in the transaction that made it. Keyed by supplier id. The link or code"
                " is a credential until `expires_at`: keep retention short, readers few."
            ),
        ),
    ),
)


class TenderHandlers:
    def __init__(self, live: LiveIndex, *, matches_topic: str, ldc_first: bool) -> None:
        self._live = live
        self._topic = matches_topic
        self._ldc_first = ldc_first

    async def __call__(self, conn: Connection, event: RawEnvelope) -> None:
        model = EVENT_MODELS.get(event.type)
        if model is None:
            log.info("event_ignored", event_id=event.id, event_type=event.type)
            return
        data = model.model_validate(event.data)
        sent = await services.match_tender(
            conn,
            self._live,
            data,
            correlation_id=event.correlationid,
            causation_id=event.id,
            topic=self._topic,
            ldc_first=self._ldc_first,
        )
        if sent is None:
            return
        log.info(
            "tender_matched",
            tender_id=data.tender.tender_id,
            revision=data.tender.revision,
            event_type=event.type,
            alerts=sent,
            correlation_id=event.correlationid,
        )
