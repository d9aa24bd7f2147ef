"""Hostile input over HTTP and Kafka: each gets a clear 4xx or a dead-letter record, and
nothing half-written stays in the database."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope
from tests.eventually import eventually
from tests.integration.notices_api import Agency, in_days
from tests.integration.test_walking_skeleton import a_notice, unique
from tests.kafka_reader import read_until
from tests.platform import Platform

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


async def row_counts(platform: Platform) -> tuple[int, int, int]:
    conn = await asyncpg.connect(platform.dsns["notices"])
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM notices), (SELECT count(*) FROM notice_revisions),"
            " (SELECT count(*) FROM outbox)"
        )
    finally:
        await conn.close()
    assert row is not None
    return row[0], row[1], row[2]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"title": "x" * 501}, "title", "at most 500"),
        ({"description": "y" * 20_001}, "description", "at most 20000"),
        ({"title": "<script>alert(1)</script>"}, "title", "HTML tags"),
        ({"title": "Gowns <b>urgent</b>"}, "title", "HTML tags"),
        ({"title": "Nul\x00byte"}, "title", "control characters"),
        ({"unspsc_codes": "42131606"}, "unspsc_codes", "valid list"),
        ({"unspsc_codes": ["99999999999"]}, "unspsc_codes", "8 digits"),
        ({"unspsc_codes": []}, "unspsc_codes", "at least one"),
        ({"beneficiary_countries": ["Atlantis"]}, "beneficiary_countries", "ISO 3166"),
        ({"deadline": "next tuesday"}, "deadline", "datetime"),
        ({"deadline": [2027, 1, 1]}, "deadline", "datetime"),
        ({"deadline": "2027-01-15T17:00:00"}, "deadline", "timezone"),
        ({"notice_type": "auction"}, "notice_type", "Input should be"),
        ({"language": "xx"}, "language", "ISO 639-1"),
        ({"reference": ""}, "reference", "at least 1"),
        ({"documents": [{"title": "ToR", "url": "javascript:alert(1)"}]}, "documents", "URL"),
        ({"surprise": True}, "surprise", "Extra inputs"),
    ],
)
async def test_bad_fields_get_422_naming_the_field_and_nothing_is_written(
    platform: Platform, agency: Agency, overrides: dict[str, Any], field: str, words: str
) -> None:
    before = await row_counts(platform)

    response = await agency.publish(a_notice(**{"deadline": in_days(5), **overrides}))

    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    named = [p for p in problems if p["loc"][:2] == ["body", field]]
    assert named, problems
    assert any(words.lower() in p["msg"].lower() for p in named), named
    assert await row_counts(platform) == before


async def test_a_deadline_already_past_is_refused_for_a_new_notice(agency: Agency) -> None:
    response = await agency.publish(a_notice(deadline=in_days(-1)))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "deadline"]


async def test_bodies_that_are_not_json_objects_are_refused(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    headers = {**agency.headers(), "Content-Type": "application/json"}
    for content in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"title": '):
        response = await http.post(agency.base, content=content, headers=headers)
        assert response.status_code == 422, content


async def publish_raw(platform: Platform, value: bytes, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{platform.topic_prefix}{topics.NOTICE_COMMANDS}", value, key=key
        )
    finally:
        await producer.stop()


def command(type_: str, data: dict[str, Any]) -> bytes:
    envelope = Envelope[dict[str, Any]](type=type_, source="agency-erp", subject="s", data=data)
    return envelope.model_dump_json().encode()


async def test_commands_on_the_inbound_topic_act_like_the_api_and_bad_ones_are_dead_lettered(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    reference = unique("KAFKA-RFQ")
    good = command(
        "notice.publish",
        {"agency": agency.code, "notice": a_notice(reference=reference, deadline=in_days(9))},
    )
    poison = {
        b"\xff\xfe\x00 not utf-8": "invalid envelope",
        command("notice.explode", {"agency": agency.code}): "unknown command type",
        command("notice.publish", {"agency": "NOBODY", "notice": a_notice()}): "unknown agency",
        command(
            "notice.publish",
            {"agency": agency.code, "notice": a_notice(title="<img src=x onerror=alert(1)>")},
        ): "notice.title",
        command(
            "notice.cancel",
            {"agency": agency.code, "notice_id": "missing", "cancellation": {"reason": "r"}},
        ): "NoticeNotFoundError",
    }
    for value in poison:
        await publish_raw(platform, value)
    await publish_raw(platform, good)
    await publish_raw(platform, good)  # a redelivery: the inbox drops it

    async def by_reference() -> list[Any]:
        page = await http.get(agency.base, params={"agency": agency.code})
        return [n for n in page.json()["items"] if n["reference"] == reference]

    notices = await eventually(by_reference, until=bool)
    dead = await read_until(
        platform.kafka,
        f"{platform.topic_prefix}{topics.NOTICE_COMMANDS}.notices-commands.dlt",
        lambda seen: len(seen) >= len(poison),
    )
    reasons = {d.value: d.headers["dlt_reason"].decode() for d in dead}
    for value, expected in poison.items():
        assert expected in reasons[value], (expected, reasons[value])
    assert len(notices) == 1
    assert notices[0]["agency"] == agency.code
    assert json.loads(good)["id"]  # the envelope id is what made the second copy a duplicate


async def test_a_huge_body_is_refused_with_413_before_it_is_read(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    before = await row_counts(platform)
    huge = a_notice(description="z" * (21 * 1024 * 1024))

    response = await http.post(agency.base, json=huge, headers=agency.headers())

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"][0]["msg"]
    assert await row_counts(platform) == before


async def test_notice_ids_with_nul_or_junk_in_the_path_are_refused_not_crashed_on(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    for bad in ("abc%00def", "x" * 65, "a%20b"):
        assert (await http.get(f"{agency.base}/{bad}")).status_code == 422
        assert (await agency.amend(bad, {"reason": "r", "title": "t"})).status_code == 422
    assert (await http.get(f"{agency.base}/0000")).status_code == 404
