"""Hostile input over HTTP and Kafka: each gets a clear 4xx or a dead-letter record, and
nothing half-written stays in the database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope
from tests.support.eventually import eventually
from tests.support.kafka_reader import read_until
from tests.support.notices_api import Agency, closed, in_days
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice, unique

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
        ({"title": "C1\x9bcontrol"}, "title", "control characters"),
        ({"reference": "UNDP\u2028SEN-1"}, "reference", "control characters"),
        ({"unspsc_codes": "42131606"}, "unspsc_codes", "valid list"),
        ({"unspsc_codes": ["99999999999"]}, "unspsc_codes", "8 digits"),
        ({"unspsc_codes": []}, "unspsc_codes", "at least one"),
        ({"beneficiary_countries": ["Atlantis"]}, "beneficiary_countries", "ISO 3166"),
        ({"deadline": "next tuesday"}, "deadline", "ISO 8601 date-time"),
        ({"deadline": [2027, 1, 1]}, "deadline", "ISO 8601 date-time"),
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
    assert [p["type"] for p in response.json()["detail"]] == ["too_large"]
    assert await row_counts(platform) == before


async def test_notice_ids_with_nul_or_junk_in_the_path_are_refused_not_crashed_on(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    for bad in ("abc%00def", "x" * 65, "a%20b"):
        assert (await http.get(f"{agency.base}/{bad}")).status_code == 422
        assert (await agency.amend(bad, {"reason": "r", "title": "t"})).status_code == 422
    assert (await http.get(f"{agency.base}/0000")).status_code == 404


# --- amendments: null means unchanged ---------------------------------------------------------

AMENDABLE = [
    "title",
    "description",
    "notice_type",
    "unspsc_codes",
    "beneficiary_countries",
    "deadline",
    "documents",
    "contacts",
]


@pytest.mark.parametrize("field", AMENDABLE)
async def test_a_null_in_an_amendment_leaves_the_field_as_it_was(
    agency: Agency, field: str
) -> None:
    published = await agency.publish(
        a_notice(
            deadline=in_days(5),
            documents=[{"title": "ToR", "url": "https://www.ungm.org/doc/1"}],
            contacts=[{"name": "Supply Division", "email": "supply@unicef.org"}],
        )
    )
    assert published.status_code == 201, published.text
    before = published.json()
    other = "description" if field == "title" else "title"

    only_null = await agency.amend(before["id"], {"reason": "r", field: None})
    amended = await agency.amend(before["id"], {"reason": "r", field: None, other: "Changed"})

    assert only_null.status_code == 422, only_null.text
    assert "at least one field besides the reason" in only_null.json()["detail"][0]["msg"]
    assert amended.status_code == 200, amended.text
    after = amended.json()
    assert after[field] == before[field]
    assert after[other] == "Changed"
    assert (await agency.get(before["id"]))["revisions"][1]["changes"][0]["field"] == other


# --- contacts and documents -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "loc", "words"),
    [
        ({"contacts": [{"name": "Nul\x00byte"}]}, ["contacts", 0, "name"], "control"),
        (
            {"contacts": [{"name": "P", "email": "a\x00b@unicef.org"}]},
            ["contacts", 0, "email"],
            "control",
        ),
        ({"contacts": [{"name": "P", "phone": "+221\x0033"}]}, ["contacts", 0, "phone"], "control"),
        (
            {"documents": [{"title": "ToR\x00", "url": "https://www.ungm.org/d"}]},
            ["documents", 0, "title"],
            "control",
        ),
        (
            {"contacts": [{"name": "<script>alert(1)</script>"}]},
            ["contacts", 0, "name"],
            "HTML tags",
        ),
        (
            {"documents": [{"title": "<img src=x onerror=alert(1)>", "url": "https://x.org/d"}]},
            ["documents", 0, "title"],
            "HTML tags",
        ),
        (
            {"contacts": [{"name": "P", "email": "not-an-email"}]},
            ["contacts", 0, "email"],
            "not a valid e-mail",
        ),
        (
            {"contacts": [{"name": "P", "phone": "call me maybe"}]},
            ["contacts", 0, "phone"],
            "international form",
        ),
        (
            {"documents": [{"title": "ToR", "url": "https://agent:secret@www.ungm.org/d"}]},
            ["documents", 0, "url"],
            "user name or password",
        ),
        (
            {"documents": [{"title": "ToR", "url": "https://www.ungm.org/" + "d" * 3000}]},
            ["documents", 0, "url"],
            "at most 2000",
        ),
    ],
)
async def test_contacts_and_documents_are_refused_naming_the_field_and_nothing_is_written(
    platform: Platform,
    agency: Agency,
    overrides: dict[str, Any],
    loc: list[str | int],
    words: str,
) -> None:
    before = await row_counts(platform)

    response = await agency.publish(a_notice(**{"deadline": in_days(5), **overrides}))

    assert response.status_code == 422, response.text
    named = [p for p in response.json()["detail"] if p["loc"] == ["body", *loc]]
    assert named, response.text
    assert words.lower() in named[0]["msg"].lower()
    assert await row_counts(platform) == before


async def test_a_contact_phone_is_stored_in_e164_and_the_email_normalised(agency: Agency) -> None:
    contact = {"name": "Supply", "email": "Supply@UNICEF.ORG", "phone": "+221 33 869 00 00"}

    response = await agency.publish(a_notice(deadline=in_days(5), contacts=[contact]))

    assert response.status_code == 201, response.text
    stored = (await agency.get(response.json()["id"]))["contacts"]
    assert stored == [{"name": "Supply", "email": "Supply@unicef.org", "phone": "+221338690000"}]


# --- deadlines --------------------------------------------------------------------------------


def unix_in_days(days: int) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


@pytest.mark.parametrize(
    ("deadline", "words"),
    [
        (unix_in_days(10), "ISO 8601"),
        (str(unix_in_days(10)), "ISO 8601"),
        ("9999-12-31T23:59:59+00:00", "years ahead"),
        ("9999-12-31T23:00:00-05:00", "beyond the last date-time"),
        ((datetime.now(UTC) + timedelta(days=6 * 366)).isoformat(), "years ahead"),
    ],
)
async def test_a_deadline_that_is_a_unix_time_or_years_away_is_refused_naming_it(
    platform: Platform, agency: Agency, deadline: object, words: str
) -> None:
    before = await row_counts(platform)

    response = await agency.publish(a_notice(deadline=deadline))

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "deadline"]
    assert words in problem["msg"]
    assert await row_counts(platform) == before


async def test_an_amendment_cannot_move_the_deadline_years_away_or_to_a_unix_time(
    agency: Agency,
) -> None:
    published = await agency.publish(a_notice(deadline=in_days(5)))
    notice_id = published.json()["id"]

    far = await agency.amend(notice_id, {"reason": "r", "deadline": "9999-12-31T23:59:59Z"})
    unix = await agency.amend(notice_id, {"reason": "r", "deadline": unix_in_days(20)})

    assert (far.status_code, unix.status_code) == (422, 422), (far.text, unix.text)
    assert far.json()["detail"][0]["loc"] == unix.json()["detail"][0]["loc"] == ["body", "deadline"]
    assert (await agency.get(notice_id))["revision"] == 1


async def test_search_filters_take_deadlines_with_an_offset_only(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    for value, words in (
        (str(unix_in_days(1)), "ISO 8601"),
        ("9999-12-31T23:00:00-05:00", "beyond the last date-time"),
    ):
        response = await http.get(agency.base, params={"deadline_from": value})
        assert response.status_code == 422, response.text
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["query", "deadline_from"]
        assert words in problem["msg"]
    fine = await http.get(agency.base, params={"deadline_from": in_days(1)})
    assert fine.status_code == 200, fine.text


# --- awards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("award_date", "words"),
    [
        ((datetime.now(UTC) + timedelta(days=3)).date().isoformat(), "in the future"),
        ((datetime.now(UTC) - timedelta(days=3)).date().isoformat(), "before the notice"),
        (int(datetime.now(UTC).timestamp()), "ISO 8601 date"),
    ],
)
async def test_an_award_dated_in_the_future_or_before_publication_is_refused_naming_date(
    platform: Platform, agency: Agency, award_date: object, words: str
) -> None:
    notice = await closed(agency, platform)

    response = await agency.award(notice["id"], date=award_date)

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "date"]
    assert words in problem["msg"]
    assert (await agency.get(notice["id"]))["status"] == "closed"


async def test_an_award_in_a_currency_that_is_no_money_is_refused(
    platform: Platform, agency: Agency
) -> None:
    notice = await closed(agency, platform)

    response = await agency.award(notice["id"], currency="XXX")

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "currency"]


# --- errors that name their field -------------------------------------------------------------


def cursor_of(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
        ({"cursor": cursor_of("2026-01-01T00:00:00+00:00", "nul\x00id")}, ["query", "cursor"]),
        ({"cursor": cursor_of("2026-01-01T00:00:00", "abc")}, ["query", "cursor"]),
        ({"country": "XX"}, ["query", "country"]),
        ({"agency": "\x00"}, ["query", "agency"]),
        ({"agency": "UN\x00DP"}, ["query", "agency"]),
    ],
)
async def test_bad_search_parameters_get_422_naming_the_parameter(
    agency: Agency, http: httpx.AsyncClient, params: dict[str, str], loc: list[str]
) -> None:
    response = await http.get(agency.base, params=params)

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == loc


async def test_a_reused_or_malformed_idempotency_key_is_named_in_the_error(
    agency: Agency,
) -> None:
    notice = a_notice(deadline=in_days(10))
    assert (await agency.publish(notice, key="hostile-1")).status_code == 201

    reused = await agency.publish({**notice, "title": "Another"}, key="hostile-1")
    malformed = await agency.publish(notice, key="has space")

    for response, words in ((reused, "different request"), (malformed, "printable ASCII")):
        assert response.status_code == 422, response.text
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["header", "Idempotency-Key"]
        assert words in problem["msg"]


async def test_a_missing_or_unknown_api_key_is_named_in_the_401(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    anonymous = await http.post(agency.base, json=a_notice())
    forged = await http.post(agency.base, json=a_notice(), headers={"Authorization": "Bearer x"})

    for response in (anonymous, forged):
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["header", "Authorization"]


async def test_a_body_with_a_key_twice_in_one_object_is_refused_not_read_as_the_last(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    before = await row_counts(platform)
    body = json.dumps(a_notice(deadline=in_days(5)))
    twice = body.replace('"title": ', '"title": "Harmless", "title": ', 1)

    response = await http.post(
        agency.base,
        content=twice.encode(),
        headers={**agency.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert "'title' appears twice" in problem["msg"]
    assert await row_counts(platform) == before
