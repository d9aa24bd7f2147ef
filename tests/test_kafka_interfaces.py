"""The three services' Kafka interfaces fit together: each topic a service consumes has one
writer, and what the writer's own code puts on it fits the reader's declaration.

faststream's TestKafkaBroker runs each declaration's subscriber in memory, so a producer and a
consumer drifting apart fails here, in the fast tier, before any broker is started.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from faststream.kafka import TestKafkaBroker

from benchmarks.payloads import published_events
from tenderwire_matching.handlers import INTERFACE as MATCHING
from tenderwire_matching.match_events import Cause, MatchEvents
from tenderwire_notices.handlers import INTERFACE as NOTICES
from tenderwire_notify.handlers import INTERFACE as NOTIFY
from tenderwire_shared import topics
from tenderwire_shared.broker import KafkaInterface
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.events.matches import MatchKind, Recipient
from tenderwire_shared.events.tenders import TenderPublished

SERVICES: dict[str, KafkaInterface] = {"notices": NOTICES, "matching": MATCHING, "notify": NOTIFY}
# Written by agency systems, outside Tenderwire.
FROM_OUTSIDE = {topics.NOTICE_COMMANDS}


def writers() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for service, interface in SERVICES.items():
        for publication in interface.publications:
            found.setdefault(publication.topic, []).append(service)
    return found


def test_each_topic_has_exactly_one_writing_service() -> None:
    assert {topic: len(by) for topic, by in writers().items()} == {
        topics.TENDERS: 1,
        topics.MATCHES: 1,
        topics.SUPPLIERS: 1,
        topics.ACCOUNT_MESSAGES: 1,
    }


def test_every_topic_consumed_is_written_by_a_service_or_comes_from_outside() -> None:
    consumed = {s.topic for i in SERVICES.values() for s in i.subscriptions}
    assert consumed - set(writers()) == FROM_OUTSIDE
    assert set(writers()) <= consumed, "a topic no service reads"


def test_no_two_subscriptions_share_a_consumer_group() -> None:
    groups = Counter(s.group for i in SERVICES.values() for s in i.subscriptions)
    assert [g for g, n in groups.items() if n > 1] == []


async def test_a_tender_event_as_notices_writes_it_fits_matchings_subscription() -> None:
    event = published_events(1)[0]
    async with TestKafkaBroker(MATCHING.documentation_broker()) as broker:
        await broker.publish(json.loads(event.value), topic=topics.TENDERS)


async def test_a_match_event_as_matching_writes_it_fits_notifys_subscription() -> None:
    tender = TenderPublished.model_validate(json.loads(published_events(1)[0].value)["data"]).tender
    row = MatchEvents(Cause(tender, new_event_id(), new_event_id())).row(
        match_id=new_event_id(),
        kind=MatchKind.NEW,
        recipient=Recipient(
            supplier_id=new_event_id(),
            legal_name="Sahel Medical SARL",
            email="offres@sahel-medical.example",
            language="fr",
            timezone="Africa/Dakar",
        ),
        matched_codes=("42131606",),
        still_matches=True,
    )
    async with TestKafkaBroker(NOTIFY.documentation_broker()) as broker:
        await broker.publish(json.loads(row.value), topic=topics.MATCHES)


async def test_a_record_missing_what_the_declaration_requires_is_refused() -> None:
    event = json.loads(published_events(1)[0].value)
    del event["data"]["tender"]
    async with TestKafkaBroker(MATCHING.documentation_broker()) as broker:
        with pytest.raises(Exception, match="tender"):
            await broker.publish(event, topic=topics.TENDERS)
