"""Reactions to tender events. Each runs inside the inbox transaction of its event.

- published: new matches (a tender imported already closed alerts no one);
- amended: everyone alerted before hears about the amendment, even if its profile no longer
  matches (it may be preparing a bid, and UNGM re-sends revised notices the same way), and
  suppliers that match only now get a new-tender alert;
- cancelled: everyone alerted before hears about it;
- closed, awarded: remembered, no alerts.
"""

from __future__ import annotations

import structlog

from tenderwire_matching import alerts
from tenderwire_matching.alerts import Alert
from tenderwire_matching.live_index import LiveIndex, matching_lock
from tenderwire_matching.match_events import Cause
from tenderwire_matching.rules import TenderFacts
from tenderwire_matching.tenders import facts_of, remember
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.events.matches import MatchKind
from tenderwire_shared.events.tenders import (
    EVENT_MODELS,
    TENDER_PUBLISHED,
    TenderAmended,
    TenderCancelled,
    TenderStatus,
)

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
        tender = data.tender
        await matching_lock(conn)
        if not await remember(conn, tender):
            log.info("tender_revision_stale", tender_id=tender.tender_id, revision=tender.revision)
            return
        await self._live.catch_up(conn)
        cause = Cause(tender, event.correlationid, event.id)
        if event.type == TENDER_PUBLISHED and tender.status is not TenderStatus.CLOSED:
            sent = await self._new_matches(conn, cause, facts_of(tender), already=set())
        elif isinstance(data, TenderAmended):
            cause = Cause(tender, event.correlationid, event.id, data.changes, data.reason)
            sent = await self._amended(conn, cause)
        elif isinstance(data, TenderCancelled):
            cause = Cause(tender, event.correlationid, event.id, reason=data.reason)
            sent = await self._to_alerted(conn, cause, MatchKind.CANCELLED)
        else:
            sent = 0
        log.info(
            "tender_matched",
            tender_id=tender.tender_id,
            revision=tender.revision,
            event_type=event.type,
            alerts=sent,
            correlation_id=event.correlationid,
        )

    async def _new_matches(
        self, conn: Connection, cause: Cause, facts: TenderFacts, *, already: set[str]
    ) -> int:
        found = [
            Alert(m.supplier_id, MatchKind.NEW, m.matched_codes)
            for m in self._live.index.match(facts)
            if m.supplier_id not in already
        ]
        return await alerts.send(conn, found, cause, topic=self._topic, ldc_first=self._ldc_first)

    async def _amended(self, conn: Connection, cause: Cause) -> int:
        facts = facts_of(cause.tender)
        alerted = await alerts.alerted_suppliers(conn, cause.tender.tender_id)
        matching_now = {m.supplier_id: m for m in self._live.index.match(facts)}
        amendment_alerts = [
            Alert(
                supplier_id,
                MatchKind.AMENDED,
                matching_now[supplier_id].matched_codes if supplier_id in matching_now else (),
                still_matches=supplier_id in matching_now,
            )
            for supplier_id in sorted(alerted)
        ]
        sent = await alerts.send(
            conn, amendment_alerts, cause, topic=self._topic, ldc_first=self._ldc_first
        )
        return sent + await self._new_matches(conn, cause, facts, already=alerted)

    async def _to_alerted(self, conn: Connection, cause: Cause, kind: MatchKind) -> int:
        alerted = await alerts.alerted_suppliers(conn, cause.tender.tender_id)
        found = [Alert(s, kind, still_matches=True) for s in sorted(alerted)]
        return await alerts.send(conn, found, cause, topic=self._topic, ldc_first=self._ldc_first)
