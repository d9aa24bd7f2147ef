"""Matching's Kafka interface as declared in handlers.py, and the consumer's routing, without
Kafka: the AsyncAPI document and the running consumer come from the same declarations."""

from __future__ import annotations

from typing import Any

from faststream.kafka import TestKafkaBroker

from tenderwire_matching.handlers import INTERFACE, TENDERS, TenderHandlers
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared import topics
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.settings import Environment


class NoDatabase:
    """Stands in for the inbox transaction's connection: an ignored event queries nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"an ignored event reached the database (conn.{name})")


def test_matching_consumes_tenders_and_publishes_matches_and_suppliers() -> None:
    assert [s.topic for s in INTERFACE.subscriptions] == [topics.TENDERS]
    assert [p.topic for p in INTERFACE.publications] == [topics.MATCHES, topics.SUPPLIERS]


def test_the_consumer_group_is_written_once() -> None:
    settings = MatchingSettings(environment=Environment.TEST)
    assert settings.consumer_group == TENDERS.group == "matching"


def test_the_asyncapi_document_names_each_topic_and_the_dead_letter_topic() -> None:
    document = INTERFACE.asyncapi()

    channels = {c["address"] for c in document["channels"].values()}
    assert channels == {topics.TENDERS, topics.MATCHES, topics.SUPPLIERS}
    described = " ".join(c.get("description", "") for c in document["channels"].values())
    assert topics.dead_letter_topic(topics.TENDERS, TENDERS.group) in described


async def test_a_tender_event_fits_the_declared_subscription() -> None:
    broker = INTERFACE.documentation_broker()
    event = {
        "id": "event-1",
        "specversion": "1.0",
        "type": "tender.cancelled",
        "source": "tenderwire/notices",
        "subject": "tender-1",
        "time": "2026-12-01T09:30:00Z",
        "data": {"tender": _tender(), "reason": "Budget withdrawn"},
    }

    async with TestKafkaBroker(broker) as running:
        # A record the declaration refused would raise here.
        await running.publish(event, topic=topics.TENDERS)


async def test_an_event_type_matching_does_not_know_is_ignored_without_a_query() -> None:
    handler = TenderHandlers(LiveIndex(1), matches_topic=topics.MATCHES, ldc_first=True)
    event = RawEnvelope(id="e", type="tender.archived", source="s", subject="t", data={})

    await handler(NoDatabase(), event)  # type: ignore[arg-type]


def _tender() -> dict[str, Any]:
    return {
        "tender_id": "tender-1",
        "revision": 2,
        "status": "cancelled",
        "agency": "UNICEF",
        "reference": "RFQ-2026-001",
        "title": "Isolation gowns",
        "description": "Gowns",
        "language": "en",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "beneficiary_countries": ["SEN"],
        "deadline": "2027-01-15T11:00:00Z",
        "deadline_utc_offset_minutes": 0,
        "published_at": "2026-12-01T09:30:00Z",
    }
