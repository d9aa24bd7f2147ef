"""Events on the real topics are CloudEvents in the Kafka binding's structured mode, as the
`cloudevents` SDK (a third party's consumer) reads them."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from cloudevents.core.bindings import kafka as binding
from cloudevents.v1 import kafka as v1_binding

from tenderwire_shared import topics
from tests.support.kafka_reader import Seen, read_until
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice, as_agency, register, unique

pytestmark = pytest.mark.integration

STRUCTURED = b"application/cloudevents+json; charset=utf-8"


def keyed(subject: str) -> Callable[[Seen], bool]:
    return lambda seen: seen.key == subject.encode()


async def test_every_topic_s_events_read_as_structured_cloudevents_with_the_sdk(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notices is not None
    supplier = await register(
        http,
        platform,
        legal_name=unique("Cloud Events Ltd"),
        country="GH",
        unspsc_codes=["42131606"],
        email=f"{unique('ce')}@example.org",
    )
    _, key = await platform.new_agency()
    published = await http.post(
        f"{platform.notices.url}/v1/notices", json=a_notice(), headers=as_agency(key)
    )
    assert published.status_code == 201
    tender_id = published.json()["id"]
    prefix = platform.topic_prefix

    events: list[Seen] = []
    for topic, subject in [
        (topics.TENDERS, tender_id),
        (topics.SUPPLIERS, supplier["id"]),
        (topics.MATCHES, supplier["id"]),
    ]:
        events += await read_until(platform.kafka, f"{prefix}{topic}", bool, keep=keyed(subject))

    for record in events:
        wire = json.loads(record.value)
        assert record.headers["content-type"] == STRUCTURED
        assert not [name for name in record.headers if name.startswith("ce_")]
        message = binding.KafkaMessage(headers=record.headers, key=record.key, value=record.value)

        # from_kafka_event picks the mode from the headers, as any SDK consumer would.
        for event in (binding.from_kafka_event(message), binding.from_structured_event(message)):
            assert event.get_id() == wire["id"] == record.headers["event_id"].decode()
            assert event.get_type() == wire["type"] == record.headers["event_type"].decode()
            assert event.get_source() == wire["source"]
            assert event.get_subject() == wire["subject"]
            assert record.key == wire["subject"].encode()
            assert event.get_specversion() == "1.0"
            assert event.get_time() is not None
            assert event.get_data() == wire["data"]

        legacy = v1_binding.from_structured(
            v1_binding.KafkaMessage(headers=record.headers, key=record.key, value=record.value)
        )
        assert (legacy["id"], legacy["type"], legacy.get_data()) == (
            wire["id"],
            wire["type"],
            wire["data"],
        )
    assert {json.loads(r.value)["type"] for r in events} >= {
        "tender.published",
        "supplier.registered",
        "match.new",
    }
