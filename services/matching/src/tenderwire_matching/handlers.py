"""Matching's Kafka consumer: each tender event is parsed and handed to
`services.match_tender`, inside the inbox transaction of its event."""

from __future__ import annotations

import structlog

from tenderwire_matching import services
from tenderwire_matching.live_index import LiveIndex
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.events.tenders import EVENT_MODELS

log = structlog.get_logger()


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
