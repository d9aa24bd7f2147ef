"""Match events written straight onto notify's topic, as matching would write them, for tests
that are about notify's sending rather than about matching."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from pydantic import AnyHttpUrl

from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot


def a_tender(tender_id: str) -> TenderSnapshot:
    """A published tender for pumps in Senegal, open for 20 more days."""
    return TenderSnapshot(
        tender_id=tender_id,
        revision=1,
        agency="UNDP",
        reference=f"REF-{tender_id}",
        title="Water pumps",
        description="",
        language="en",
        notice_type=NoticeType.INVITATION_TO_BID,
        unspsc_codes=("40141700",),
        beneficiary_countries=("SEN",),
        deadline=datetime.now(UTC) + timedelta(days=20),
        deadline_utc_offset_minutes=0,
        published_at=datetime.now(UTC),
        url=AnyHttpUrl("https://example.org/t"),
    )


def new_tender_alert(supplier_id: str, email: str, tender_id: str) -> Envelope[MatchCreated]:
    tender = a_tender(tender_id)
    return Envelope[MatchCreated](
        type="match.new",
        source="tests",
        subject=supplier_id,
        data=MatchCreated(
            match_id=new_event_id(),
            kind=MatchKind.NEW,
            recipient=Recipient(
                supplier_id=supplier_id,
                legal_name=f"Supplier {supplier_id}",
                email=email,
                language="en",
                timezone="UTC",
            ),
            tender=tender,
            matched_codes=("40141700",),
        ),
    )


async def produce(kafka: str, prefix: str, events: Sequence[Envelope[MatchCreated]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        for event in events:
            await producer.send(
                f"{prefix}{topics.MATCHES}",
                event.model_dump_json().encode(),
                key=event.subject.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()
