"""Use case: an agency publishes a new tender notice."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from pydantic import AnyHttpUrl

from tenderwire_notices import repository
from tenderwire_notices.schemas import NoticeDraft
from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.tenders import TENDER_PUBLISHED, TenderPublished, TenderSnapshot
from tenderwire_shared.outbox import add_to_outbox

SOURCE = "tenderwire/notices"


async def publish_notice(
    pool: asyncpg.Pool,
    draft: NoticeDraft,
    *,
    tenders_topic: str,
    public_base_url: str,
    correlation_id: str,
    now: datetime | None = None,
) -> TenderSnapshot:
    """Store the notice and queue tender.published in one transaction."""
    tender_id = new_event_id()
    offset = draft.deadline.utcoffset()
    assert offset is not None  # AwareDatetime guarantees it
    snapshot = TenderSnapshot(
        tender_id=tender_id,
        revision=1,
        agency=draft.agency,
        reference=draft.reference,
        title=draft.title,
        description=draft.description,
        language=draft.language,
        notice_type=draft.notice_type,
        unspsc_codes=tuple(draft.unspsc_codes),
        beneficiary_countries=tuple(draft.beneficiary_countries),
        deadline=draft.deadline.astimezone(UTC),
        deadline_utc_offset_minutes=int(offset.total_seconds() // 60),
        published_at=now or datetime.now(UTC),
        url=AnyHttpUrl(f"{public_base_url}/v1/notices/{tender_id}"),
    )
    event = Envelope[TenderPublished](
        type=TENDER_PUBLISHED,
        source=SOURCE,
        subject=tender_id,
        dataschema=f"{topics.TENDERS}/{TENDER_PUBLISHED}",
        correlationid=correlation_id,
        data=TenderPublished(tender=snapshot),
    )
    async with pool.acquire() as conn, conn.transaction():
        await repository.insert(conn, snapshot, status="published")
        await add_to_outbox(conn, topic=tenders_topic, key=tender_id, event=event)
    return snapshot
