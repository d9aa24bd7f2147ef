"""Reactions to tender events. Each runs inside the inbox transaction of its event."""

from __future__ import annotations

import structlog

from tenderwire_matching.matcher import find_candidates
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, RawEnvelope, new_event_id
from tenderwire_shared.events.matches import MATCH_NEW, MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import TENDER_PUBLISHED, TenderPublished
from tenderwire_shared.outbox import add_to_outbox

log = structlog.get_logger()

SOURCE = "tenderwire/matching"


class TenderHandlers:
    def __init__(self, *, matches_topic: str, code_levels: int) -> None:
        self._matches_topic = matches_topic
        self._levels = code_levels

    async def __call__(self, conn: Connection, event: RawEnvelope) -> None:
        if event.type == TENDER_PUBLISHED:
            await self._on_published(conn, event, TenderPublished.model_validate(event.data))
        else:
            log.info("event_ignored", event_id=event.id, event_type=event.type)

    async def _on_published(
        self, conn: Connection, event: RawEnvelope, published: TenderPublished
    ) -> None:
        tender = published.tender
        candidates = await find_candidates(conn, tender, levels=self._levels)
        for candidate in candidates:
            match_id = new_event_id()
            created = await conn.fetchval(
                "INSERT INTO matches (id, supplier_id, tender_id, revision, kind, codes)"
                " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING RETURNING true",
                match_id,
                candidate.supplier_id,
                tender.tender_id,
                tender.revision,
                MatchKind.NEW.value,
                list(candidate.matched_codes),
            )
            if not created:
                continue
            await add_to_outbox(
                conn,
                topic=self._matches_topic,
                key=candidate.supplier_id,
                event=Envelope[MatchCreated](
                    type=MATCH_NEW,
                    source=SOURCE,
                    subject=candidate.supplier_id,
                    correlationid=event.correlationid,
                    causationid=event.id,
                    data=MatchCreated(
                        match_id=match_id,
                        kind=MatchKind.NEW,
                        recipient=Recipient(
                            supplier_id=candidate.supplier_id,
                            legal_name=candidate.legal_name,
                            email=candidate.email,
                            language=candidate.language,
                            timezone=candidate.timezone,
                        ),
                        tender=tender,
                        matched_codes=candidate.matched_codes,
                    ),
                ),
            )
        log.info(
            "tender_matched",
            tender_id=tender.tender_id,
            revision=tender.revision,
            matches=len(candidates),
            correlation_id=event.correlationid,
        )
