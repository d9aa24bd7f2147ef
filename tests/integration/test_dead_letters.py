"""A message no consumer can handle goes to the dead-letter topic, byte for byte, counted and
logged; the consumer keeps going. A dead letter that cannot be written holds the offset."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from tenderwire_shared import topics
from tenderwire_shared.kafka_admin import MAX_MESSAGE_BYTES, set_topic_configs
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.hostile_consumers import (
    HostileScene,
    Outgoing,
    Settled,
    assert_a_faithful_copy,
    committed,
    hostile_scene,
    send,
)
from tests.support.kafka_reader import group_lag, read_until
from tests.support.platform import Platform
from tests.support.walkthrough import (
    a_notice,
    as_agency,
    mail_to,
    register,
    unique,
)

pytestmark = pytest.mark.integration

DEEP = 50_000


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
            b'{"id": "e-bad-data", "type": "tender.published", "source": "x", "subject": "t",'
            b' "data": {"tender": 1}}',
            key=b"k2",
        )
    finally:
        await producer.stop()

    email = f"{unique('after-poison')}@example.org"
    await register(
        http,
        platform,
        legal_name=unique("After Poison Ltd"),
        country="GH",
        unspsc_codes=["42131606"],
        email=email,
    )
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
    bad_data = next(v for k, v in by_value.items() if k.startswith(b'{"id"'))
    assert b"tender" in bad_data["dlt_reason"]
    assert bad_data["dlt_error_type"] == b"ValidationError"


@pytest_asyncio.fixture(scope="module")
async def scene(platform: Platform) -> AsyncIterator[HostileScene]:
    async with hostile_scene(platform) as running:
        yield running


def assert_handled(settled: Settled) -> None:
    assert settled.inbox.holds(settled.good)
    assert (settled.good.partition, settled.good.offset) not in settled.letters


CONSUMERS = ["notices commands", "matching tenders", "notify matches", "notify supplier events"]


@pytest.mark.parametrize("name", CONSUMERS)
async def test_records_whose_headers_lie_or_that_nest_deep_are_dead_lettered_byte_for_byte(
    scene: HostileScene, name: str
) -> None:
    consumer = scene.consumers[name]
    records = [
        Outgoing(b"\xff not json", headers=(("content-type", b"application/json"),)),
        Outgoing(b"caf\xe9 au lait", headers=(("content-type", b"text/plain; charset=utf-8"),)),
        Outgoing(b"[" * DEEP + b"]" * DEEP, headers=(("content-type", b"application/json"),)),
        Outgoing(b'{"a":' * DEEP + b"1" + b"}" * DEEP),
    ]

    settled = await scene.sent_and_settled(consumer, records)

    for one in settled.hostile:
        letter = settled.letters[one.partition, one.offset]
        assert_a_faithful_copy(letter, of=one, consumer=consumer)
    assert settled.counted == len(records)
    logged = [line["offset"] for line in settled.logged]
    assert sorted(logged) == [one.offset for one in settled.hostile]
    assert_handled(settled)


async def test_a_gzip_compressed_2mb_envelope_that_fails_validation_is_dead_lettered_whole(
    scene: HostileScene,
) -> None:
    consumer = scene.consumers["matching tenders"]
    envelope = json.loads(consumer.good_record().value or b"")
    envelope["data"]["tender"]["title"] = {"not": "a title " * 250_000}
    big = json.dumps(envelope).encode()
    assert len(big) > 2_000_000

    settled = await scene.sent_and_settled(consumer, [Outgoing(big)], gzip=True)

    (one,) = settled.hostile
    letter = settled.letters[one.partition, one.offset]
    assert_a_faithful_copy(letter, of=one, consumer=consumer)
    assert b"tender.title: Input should be a valid string" in (letter.header("dlt_reason") or b"")
    assert settled.counted == 1
    assert_handled(settled)


async def test_a_record_the_size_the_topic_allows_still_fits_its_dead_letter_topic(
    scene: HostileScene,
) -> None:
    # Nothing to compress: with its dlt_* headers the copy is larger than the original.
    noise = random.Random(11).randbytes(1_048_400)
    consumer = scene.consumers["notices commands"]

    settled = await scene.sent_and_settled(consumer, [Outgoing(noise)])

    (one,) = settled.hostile
    assert_a_faithful_copy(settled.letters[one.partition, one.offset], of=one, consumer=consumer)
    assert settled.counted == 1
    assert_handled(settled)


async def test_a_command_without_an_id_is_refused_rather_than_applied_at_each_delivery(
    scene: HostileScene,
) -> None:
    consumer = scene.consumers["notices commands"]
    command = json.loads(consumer.good_record().value or b"")
    del command["id"]
    reference = command["data"]["notice"]["reference"]
    without_id = Outgoing(json.dumps(command).encode())

    settled = await scene.sent_and_settled(consumer, [without_id, without_id])

    for one in settled.hostile:
        letter = settled.letters[one.partition, one.offset]
        assert_a_faithful_copy(letter, of=one, consumer=consumer)
        assert letter.header("dlt_reason") == b"invalid envelope: id: Field required"
    assert settled.counted == 2
    conn = await asyncpg.connect(scene.platform.dsns["notices"])
    try:
        published = await conn.fetchval(
            "SELECT count(*) FROM notices WHERE reference = $1", reference
        )
    finally:
        await conn.close()
    assert published == 0
    assert_handled(settled)


async def test_while_a_dead_letter_cannot_be_written_the_offset_holds_and_ready_says_why(
    scene: HostileScene, http: httpx.AsyncClient
) -> None:
    platform, consumer = scene.platform, scene.consumers["matching tenders"]
    reader = scene.readers[consumer.name]
    noise = random.Random(5).randbytes(20_000)
    admin = AIOKafkaAdminClient(bootstrap_servers=platform.kafka)
    await admin.start()
    try:
        await committed(platform, consumer)
        await reader.new_letters()
        # The dead-letter topic refuses the copy, as a broker would one over its limits.
        await set_topic_configs(admin, consumer.dead_letter_topic, {MAX_MESSAGE_BYTES: "1024"})
        (one,) = await send(scene.outlet[False], consumer.topic, [Outgoing(noise)])

        async def ready() -> httpx.Response:
            return await http.get(f"{consumer.service_url}/ready")

        refusing = await eventually(ready, until=lambda r: r.status_code == 503)
        (problem,) = refusing.json()["problems"]
        assert problem.startswith(f"consumer {consumer.group}: dead-letter publishing failing")
        lag, _ = await group_lag(platform.kafka, consumer.group, consumer.topic)
        assert lag >= 1
        assert await reader.new_letters() == []

        await set_topic_configs(
            admin, consumer.dead_letter_topic, {MAX_MESSAGE_BYTES: str(4 * 1024 * 1024)}
        )
        await committed(platform, consumer)
        (letter,) = await reader.new_letters()
    finally:
        await admin.close()
    assert_a_faithful_copy(letter, of=one, consumer=consumer)
    assert (await ready()).status_code == 200
