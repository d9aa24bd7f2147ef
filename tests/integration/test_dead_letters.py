"""A message no consumer can handle goes to the dead-letter topic; the consumer keeps going."""

from __future__ import annotations

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tenderwire_shared import topics
from tenderwire_stack.mailcatcher import MailCatcher
from tests.eventually import eventually
from tests.integration.test_walking_skeleton import (
    a_notice,
    as_agency,
    mail_to,
    register,
    unique,
)
from tests.kafka_reader import read_until
from tests.platform import Platform

pytestmark = pytest.mark.integration


async def test_poison_tender_events_are_dead_lettered_with_a_reason_and_matching_continues(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    assert platform.notices is not None
    tenders = f"{platform.topic_prefix}{topics.TENDERS}"
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(tenders, b"\xff not json", key=b"k1")
        await producer.send_and_wait(
            tenders,
            b'{"type": "tender.published", "source": "x", "subject": "t", "data": {"tender": 1}}',
            key=b"k2",
        )
    finally:
        await producer.stop()

    email = f"{unique('after-poison')}@example.org"
    await register(
        http, platform, legal_name=unique("After Poison Ltd"), country="GH",
        unspsc_codes=["42131606"], email=email,
    )  # fmt: skip
    _, key = await platform.new_agency()
    response = await http.post(
        f"{platform.notices.url}/v1/notices", json=a_notice(), headers=as_agency(key)
    )
    assert response.status_code == 201

    assert await eventually(lambda: mail_to(http, mail_catcher, email), until=bool)
    letters = await read_until(platform.kafka, f"{tenders}.matching.dlt", lambda s: len(s) >= 2)
    by_value = {letter.value: {"value": letter.value, **letter.headers} for letter in letters}
    garbage = by_value[b"\xff not json"]
    assert garbage["dlt_reason"].startswith(b"invalid envelope:")
    assert garbage["dlt_original_topic"] == tenders.encode()
    assert garbage["dlt_consumer_group"] == b"matching"
    bad_data = next(v for k, v in by_value.items() if k.startswith(b'{"type"'))
    assert b"tender" in bad_data["dlt_reason"]
    assert bad_data["dlt_error_type"] == b"ValidationError"
